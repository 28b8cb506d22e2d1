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
