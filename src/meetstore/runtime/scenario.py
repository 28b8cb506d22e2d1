"""How one simulated meeting goes, read from the bot's creation options: MeetStream's
`automatic_leave` timeouts and the scenarios of `recording_config.simulated` (API.md's table).

Pure: the simulator asks the plan what happens when (admission, and what ends the recording) and
only waits and reports. Seconds count from the start of the recording, but the waiting room's.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

PARTICIPANT_NAMES = (
    "Alice Example",
    "Bob Example",
    "Chen Example",
    "Dana Example",
    "Emeka Example",
    "Farah Example",
    "Goran Example",
    "Hana Example",
)
DEFAULT_PARTICIPANTS = 2


class Admission(StrEnum):
    ADMITTED = "admitted"
    DENIED = "denied"  # the host refused it: status Denied
    NOT_ALLOWED = "not_allowed"  # waiting_room_timeout ran out first: status NotAllowed


class Ending(StrEnum):
    """What ends the recording."""

    LEFT = "left"  # everyone left, and the bot waited everyone_left_timeout
    CAPPED = "capped"  # in_call_recording_timeout
    KICKED = "kicked"  # simulated.kick_at_s: bot.kicked, media up to then kept
    FAILED = "failed"  # simulated.fail_at_s: bot.failed, status Error, media up to then kept


@dataclass(frozen=True)
class Plan:
    duration_s: float
    """How long the participants stay (`simulated.duration_s`)."""
    video: bool = True
    audio: bool = True
    separate_streams: bool = False
    participant_video: bool = False
    participants: tuple[str, ...] = PARTICIPANT_NAMES[:DEFAULT_PARTICIPANTS]
    everyone_left_s: float = 0.0
    recording_cap_s: float | None = None
    waiting_room_s: float = 0.0
    waiting_room_timeout_s: float | None = None
    admit: bool = True
    noone_joined_s: float = 0.0
    kick_at_s: float | None = None
    fail_at_s: float | None = None

    @property
    def waits_in_room(self) -> bool:
        return self.waiting_room_s > 0 or not self.admit

    def admission(self) -> tuple[float, Admission]:
        """How long the bot is in the waiting room, and how that ends. The host decides after
        `waiting_room_s`; a `waiting_room_timeout` shorter than that gives up first."""
        timeout = self.waiting_room_timeout_s
        if timeout is not None and timeout < self.waiting_room_s:
            return timeout, Admission.NOT_ALLOWED
        return self.waiting_room_s, Admission.ADMITTED if self.admit else Admission.DENIED

    def ending(self) -> tuple[float, Ending]:
        """When the recording ends and why: the earliest of the natural end (participants gone,
        then `everyone_left_timeout`), the recording cap, the kick and the failure (a tie goes to
        the first of these)."""
        candidates = [(self.duration_s + self.everyone_left_s, Ending.LEFT)]
        if self.recording_cap_s is not None:
            candidates.append((self.recording_cap_s, Ending.CAPPED))
        if self.kick_at_s is not None:
            candidates.append((self.kick_at_s, Ending.KICKED))
        if self.fail_at_s is not None:
            candidates.append((self.fail_at_s, Ending.FAILED))
        return min(candidates, key=lambda c: c[0])


def _seconds(doc: dict[str, Any], key: str) -> float | None:
    value = doc.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return None
    return float(value)


def _section(options: dict[str, Any], *path: str) -> dict[str, Any]:
    doc: Any = options
    for key in path:
        doc = doc.get(key) if isinstance(doc, dict) else None
    return doc if isinstance(doc, dict) else {}


def plan_of(options: dict[str, Any], default_duration_s: float) -> Plan:
    """The plan of a bot created with `options` (as stored: validated at creation)."""
    sim = _section(options, "recording_config", "simulated")
    leave = _section(options, "automatic_leave")
    count = sim.get("participants")
    people = DEFAULT_PARTICIPANTS if not isinstance(count, int) or isinstance(count, bool) else count
    return Plan(
        duration_s=_seconds(sim, "duration_s") or default_duration_s,
        video=bool(options.get("video_required", True)),
        audio=bool(options.get("audio_required", True)),
        separate_streams=bool(options.get("audio_separate_streams", False)),
        participant_video=_section(options, "recording_config").get("per_participant_video") is True,
        participants=PARTICIPANT_NAMES[: max(0, min(people, len(PARTICIPANT_NAMES)))],
        everyone_left_s=_seconds(leave, "everyone_left_timeout") or 0.0,
        recording_cap_s=_seconds(leave, "in_call_recording_timeout"),
        waiting_room_s=_seconds(sim, "waiting_room_s") or 0.0,
        waiting_room_timeout_s=_seconds(leave, "waiting_room_timeout"),
        admit=sim.get("admit") is not False,
        noone_joined_s=_seconds(leave, "noone_joined_timeout") or 0.0,
        kick_at_s=_seconds(sim, "kick_at_s"),
        fail_at_s=_seconds(sim, "fail_at_s"),
    )
