"""The parts of a fetch answer that are not the decision: URL lifetimes, inline reads with their
size cap, and the meeting facts (participant names, screenshot times) a body carries."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ParamSpec, Protocol, TypeVar, runtime_checkable

from meetstore.domain.artifacts import ArtifactKind
from meetstore.domain.clock import rfc3339
from meetstore.domain.ids import InvalidCursor, decode_cursor, encode_cursor
from meetstore.domain.ports import Metrics, ObjectStore
from meetstore.domain.records import BotRecord
from meetstore.errors import (
    ArtifactNotFound,
    InvalidRequest,
    MeetstoreError,
    PayloadTooLarge,
    S3OperationError,
)
from meetstore.services.fetch_errors import location

INLINE_READ_CAP = 20 * 1024 * 1024
"""Largest object an inline endpoint reads into memory (transcript, manifest)."""


@dataclass(frozen=True)
class Expiry:
    expires_in: int
    expires_at: str


def expiry(ttl_s: int) -> Expiry:
    """A URL lifetime, and when it ends (whole seconds, RFC 3339)."""
    return _expiry_from(int(time.time()), ttl_s)


@functools.lru_cache(maxsize=64)
def _expiry_from(now_s: int, ttl_s: int) -> Expiry:
    """Every URL of one lifetime issued within one second ends at the same second: written once."""
    stamp = rfc3339(datetime.fromtimestamp(now_s + ttl_s, UTC))
    assert stamp is not None
    return Expiry(ttl_s, stamp)


def _too_large() -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The file is larger than {INLINE_READ_CAP // (1024 * 1024)} MB; download it "
        "through its presigned URL instead."
    )


def read_inline(store: ObjectStore, key: str, size: int) -> bytes:
    """A stored file's bytes for an inline endpoint, at most INLINE_READ_CAP of them."""
    if size > INLINE_READ_CAP:
        raise _too_large()
    try:
        return store.read_bytes(key, INLINE_READ_CAP)
    except S3OperationError as exc:
        if exc.s3_error == "NoSuchKey":
            raise ArtifactNotFound(
                f"The file is no longer at {location(store.bucket, key)}: it was deleted from the bucket."
            ) from None
        raise
    except FileNotFoundError:
        raise ArtifactNotFound("The file is no longer in the platform store.") from None
    except ValueError:
        raise _too_large() from None


def participant_names(bot: BotRecord) -> dict[str, str]:
    """Participant id (`{slug}_{n}`) → display name, from what the runtime reported."""
    people = (bot.meeting_data or {}).get("participants")
    out: dict[str, str] = {}
    if isinstance(people, list):
        for p in people:
            if isinstance(p, dict) and p.get("id") is not None and p.get("name") is not None:
                out[str(p["id"])] = str(p["name"])
    return out


def meetstream_participants(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """get_participants in MeetStream's shape, from the stored manifest: each participant with
    the ids of its separate audio streams (`{slug}_{n}`, as get_audio_streams names them)."""
    # A stream's id is its file's stem, `{slug}_{n}`; a participant's id is the same (the runtime
    # names people after their first stream), or their slug.
    streams: list[tuple[str, str]] = []
    for entry in manifest.get("artifacts") or []:
        if isinstance(entry, dict) and entry.get("kind") == ArtifactKind.AUDIO_STREAM.value and entry.get("participant"):
            stem = str(entry.get("name", "")).rsplit("/", 1)[-1].rsplit(".", 1)[0]
            streams.append((str(entry["participant"]), stem))
    people = manifest.get("participants")
    if people is None and isinstance(manifest.get("meeting"), dict):
        people = manifest["meeting"].get("participants")
    out = []
    for p in people if isinstance(people, list) else []:
        if not isinstance(p, dict):
            continue
        device = str(p.get("id") or p.get("deviceId") or "")
        out.append(
            {
                "deviceId": device,
                "fullName": p.get("name") or p.get("fullName") or "",
                "profilePicture": p.get("profile_picture") or p.get("profilePicture"),
                "status": "left" if p.get("left_at_s") is not None else "joined",
                "streamIds": sorted(stem for slug, stem in streams if slug in (device, device.rsplit("_", 1)[0])),
            }
        )
    return out


def meeting_start(bot: BotRecord) -> datetime:
    """When recording began: as reported, else the end of the meeting minus its duration."""
    data = bot.meeting_data or {}
    for field in ("recording_started_at", "started_at"):
        value = data.get(field)
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    duration = data.get("duration_s")
    if bot.left_at is not None and isinstance(duration, int | float) and not isinstance(duration, bool):
        return bot.left_at - timedelta(seconds=float(duration))
    return bot.created_at


def taken_at(start: datetime, offset_s: float | None) -> str | None:
    if offset_s is None:
        return None
    return rfc3339(start + timedelta(seconds=offset_s))


SCREENSHOTS_CURSOR_TAG = "screenshots"


def encode_screenshot_cursor(after_seq: int) -> str:
    return encode_cursor(SCREENSHOTS_CURSOR_TAG, after_seq)


def decode_screenshot_cursor(cursor: str) -> int:
    """The screenshot number a cursor continues after; InvalidRequest when it is not one of ours."""
    try:
        tag, after = decode_cursor(cursor, str, int)
    except InvalidCursor:
        tag, after = "", -1
    if tag != SCREENSHOTS_CURSOR_TAG or not isinstance(after, int) or after < 0:
        raise InvalidRequest(
            "Invalid cursor: pass the next_cursor of a previous page unchanged.",
            [{"field": "cursor", "message": "not a cursor returned by this endpoint"}],
        )
    return after


P = ParamSpec("P")
T = TypeVar("T")


@runtime_checkable
class Measured(Protocol):
    @property
    def metrics(self) -> Metrics: ...


def measured(endpoint: str) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """Count every answer of a fetch endpoint by its code (`ok` or the error's)."""

    def wrap(method: Callable[P, T]) -> Callable[P, T]:
        @functools.wraps(method)
        def measured(*args: P.args, **kwargs: P.kwargs) -> T:
            service = args[0]
            assert isinstance(service, Measured)
            try:
                answer = method(*args, **kwargs)
            except MeetstoreError as exc:
                service.metrics.fetch_answered(endpoint, exc.code)
                raise
            service.metrics.fetch_answered(endpoint, "ok")
            return answer

        return measured

    return wrap
