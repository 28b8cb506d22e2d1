"""What an account does to a meeting while its bot is in it (API.md "MeetStream parity"): pause
and resume the recording, post a chat message, show an image. Kept on the bot's row as a small
JSON document; the runtime reads it when it hands its files in.

Times are stored as RFC 3339 strings; `recorded_spans` turns pauses into seconds from the start
of the recording, which is what the media, the manifest and `detail` show.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Pause:
    start: datetime
    end: datetime | None
    """None while the recording is still paused."""


def _at(raw: object) -> datetime:
    return datetime.fromisoformat(str(raw))


def pauses_of(controls: Mapping[str, Any] | None) -> list[Pause]:
    doc = controls or {}
    out = [Pause(_at(p["start"]), _at(p["end"])) for p in doc.get("pauses", [])]
    if doc.get("paused_since"):
        out.append(Pause(_at(doc["paused_since"]), None))
    return out


def is_paused(controls: Mapping[str, Any] | None) -> bool:
    return bool((controls or {}).get("paused_since"))


def paused(controls: Mapping[str, Any] | None, now: datetime) -> dict[str, Any]:
    """The recording pauses now (pausing a paused recording changes nothing)."""
    doc = dict(controls or {})
    if not doc.get("paused_since"):
        doc["paused_since"] = now.isoformat()
    return doc


def resumed(controls: Mapping[str, Any] | None, now: datetime) -> dict[str, Any]:
    """The recording goes on now; the pause becomes a closed span (resuming a running one changes
    nothing)."""
    doc = dict(controls or {})
    since = doc.pop("paused_since", None)
    if since:
        doc["pauses"] = [*doc.get("pauses", []), {"start": since, "end": now.isoformat()}]
    return doc


def with_message(controls: Mapping[str, Any] | None, message: str, now: datetime) -> dict[str, Any]:
    doc = dict(controls or {})
    doc["messages"] = [*doc.get("messages", []), {"message": message, "at": now.isoformat()}]
    return doc


def with_image(
    controls: Mapping[str, Any] | None, img_url: str, display_duration: int | None, now: datetime
) -> dict[str, Any]:
    doc = dict(controls or {})
    image: dict[str, Any] = {"img_url": img_url, "at": now.isoformat()}
    if display_duration is not None:
        image["display_duration"] = display_duration
    doc["images"] = [*doc.get("images", []), image]
    return doc


@dataclass(frozen=True, slots=True)
class Recorded:
    """The recording as the controls shaped it, in seconds from the recording's start."""

    pauses: tuple[tuple[float, float], ...]
    """(start, end) of each pause, clipped to the recording."""
    messages: tuple[tuple[float, str], ...]
    images: tuple[dict[str, Any], ...]

    @property
    def paused_s(self) -> float:
        return sum(end - start for start, end in self.pauses)

    def media_time(self, t: float) -> float:
        """Where wall-clock second `t` of the recording falls in the media (the pauses before it
        cut out; a moment inside a pause falls where the pause began)."""
        cut = 0.0
        for start, end in self.pauses:
            if t >= end:
                cut += end - start
            elif t > start:
                cut += t - start
        return round(t - cut, 3)


def recorded(controls: Mapping[str, Any] | None, started: datetime, ended: datetime) -> Recorded:
    """What the controls did to a recording that ran from `started` to `ended`."""
    length = max(0.0, (ended - started).total_seconds())

    def offset(at: datetime) -> float:
        return round(min(length, max(0.0, (at - started).total_seconds())), 3)

    spans = []
    for p in pauses_of(controls):
        start, end = offset(p.start), offset(p.end or ended)
        if end > start:
            spans.append((start, end))
    doc = controls or {}
    messages = tuple((offset(_at(m["at"])), str(m["message"])) for m in doc.get("messages", []))
    images = tuple(
        {**{k: v for k, v in i.items() if k != "at"}, "at_s": offset(_at(i["at"]))} for i in doc.get("images", [])
    )
    return Recorded(tuple(spans), messages, images)
