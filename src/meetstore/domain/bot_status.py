"""The one way a bot's status changes: `move_to`, which also keeps its status timeline (when the
bot first reached each status), the `StatusTimeline` of MeetStream's `detail`."""

from __future__ import annotations

from datetime import datetime

from meetstore.domain.artifacts import BotStatus
from meetstore.domain.records import BotRecord


def move_to(bot: BotRecord, status: BotStatus, now: datetime) -> None:
    """Set the bot's status. The timeline keeps the first time of each status (a retry that
    makes a Done bot Stopped again does not move its earlier Stopped)."""
    bot.status = status.value
    bot.updated_at = now
    timeline = dict(bot.timeline or {})
    timeline.setdefault(status.value, now.isoformat())
    bot.timeline = timeline


def reached_at(bot: BotRecord, status: BotStatus) -> datetime | None:
    raw = (bot.timeline or {}).get(status.value)
    return None if raw is None else datetime.fromisoformat(str(raw))


_MEETING_ORDER = {
    BotStatus.JOINING: 0,
    BotStatus.IN_WAITING_ROOM: 1,
    BotStatus.IN_MEETING: 2,
    BotStatus.RECORDING: 3,
    BotStatus.LEAVING: 4,
}
_BEFORE_ADMISSION = frozenset({BotStatus.JOINING, BotStatus.IN_WAITING_ROOM})


def runtime_may_move(current: BotStatus, new: BotStatus) -> bool:
    """Whether a runtime may move a bot from `current` to `new`: through the meeting only forward
    (Joining → InWaitingRoom → InMeeting → Recording → Leaving, steps may be skipped), and to
    Denied or NotAllowed only while it has not been let in. Error and Stopped are not moves of this
    order (allowed at any time before the bot left)."""
    if new in (BotStatus.DENIED, BotStatus.NOT_ALLOWED):
        return current in _BEFORE_ADMISSION
    if current not in _MEETING_ORDER or new not in _MEETING_ORDER:
        return False
    return _MEETING_ORDER[new] >= _MEETING_ORDER[current]
