"""What a bot runtime reports while its bot is in the meeting: status, meeting data, liveness.

Statuses only move forward (Joining → InMeeting → Recording → Leaving); `Stopped` is "left" and
goes to the hand-in; `Error` may come at any time before it. Once a bot has left, its files and
meeting data are final: a runtime's late call is 409.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from meetstore.config import Settings
from meetstore.domain.artifacts import LIVE_STATUSES, BotStatus
from meetstore.domain.bot_status import move_to
from meetstore.domain.clock import SystemClock
from meetstore.domain.ports import Clock
from meetstore.domain.repositories import Transactions
from meetstore.errors import Conflict, InvalidRequest
from meetstore.services.events import emit
from meetstore.services.handin import HandInService
from meetstore.services.runtime_bots import bot_id_of, refuse_if_left, the_bot

_STATUS_ORDER = {
    BotStatus.JOINING: 0,
    BotStatus.IN_MEETING: 1,
    BotStatus.RECORDING: 2,
    BotStatus.LEAVING: 3,
}
_STATUS_EVENT = {
    BotStatus.IN_MEETING: ("bot.inmeeting", "The bot joined the meeting."),
    BotStatus.RECORDING: ("bot.recording", "The bot started recording."),
}
SEEN_MEMORY = 10_000


@dataclass(frozen=True)
class RuntimeInfo:
    """What a runtime needs to know about its bot."""

    bot_id: str
    status: str
    options: dict[str, Any]
    bot_name: str = ""


class RuntimeStatusService:
    def __init__(
        self, tx: Transactions, settings: Settings, handin: HandInService, clock: Clock | None = None
    ) -> None:
        self._tx = tx
        self._settings = settings
        self._handin = handin
        self._clock: Clock = clock or SystemClock()
        self._seen_lock = threading.Lock()
        self._seen: dict[str, float] = {}
        """bot id → when this process last recorded its runtime as seen (monotonic seconds)."""

    def runtime_info(self, bot_id: str) -> RuntimeInfo:
        with self._tx.read() as tx:
            bot = the_bot(tx, bot_id_of(bot_id))
            return RuntimeInfo(bot.id, bot.status, dict(bot.options or {}), bot.bot_name)

    def controls_of(self, bot_id: str) -> dict[str, Any] | None:
        """The live controls recorded for the bot (pauses, messages, images)."""
        with self._tx.read() as tx:
            controls = the_bot(tx, bot_id_of(bot_id)).controls
            return None if controls is None else dict(controls)

    def status_of(self, bot_id: str) -> str:
        with self._tx.read() as tx:
            return the_bot(tx, bot_id_of(bot_id)).status

    def set_status(self, bot_id: str, status: BotStatus | str) -> str:
        """Move a live bot forward (never back); emits bot.inmeeting / bot.recording.

        `Stopped` is "left" (pin and enqueue). Setting the current status again changes nothing.
        """
        bot_id = bot_id_of(bot_id)
        new = BotStatus(status)
        if new is BotStatus.STOPPED:
            self._handin.left(bot_id)
            return self.status_of(bot_id)
        if new in (BotStatus.JOINING, BotStatus.DONE):
            raise InvalidRequest(
                f"A runtime cannot set the status {new.value}.",
                [{"field": "status", "message": "must be InMeeting, Recording, Leaving, Stopped or Error"}],
            )
        with self._tx.write() as tx:
            bot = the_bot(tx, bot_id, lock=True)
            refuse_if_left(bot)
            current = BotStatus(bot.status)
            if new is current:
                return current.value
            if new is BotStatus.ERROR:
                move_to(bot, new, self._clock.now())
                return new.value
            if current is BotStatus.SCHEDULED:
                raise Conflict("The bot is scheduled: it joins at its join_at, not before.", status=current.value)
            if current not in LIVE_STATUSES or _STATUS_ORDER[new] < _STATUS_ORDER[current]:
                raise Conflict(f"The bot is {current.value}; it cannot move to {new.value}.", status=current.value)
            now = self._clock.now()
            move_to(bot, new, now)
            if new in _STATUS_EVENT:
                event, message = _STATUS_EVENT[new]
                emit(tx, bot, event, message=message, now=now)
            return new.value

    def set_meeting_data(self, bot_id: str, data: dict[str, Any]) -> None:
        """Merge what the runtime knows about the meeting (video_info, participants, ...)."""
        with self._tx.write() as tx:
            bot = the_bot(tx, bot_id_of(bot_id), lock=True)
            refuse_if_left(bot)
            merged = dict(bot.meeting_data or {})
            merged.update(data)
            bot.meeting_data = merged
            bot.updated_at = self._clock.now()

    def touch_runtime(self, bot_ids: Collection[str]) -> int:
        """Record that the runtime of these bots is alive (the simulator's heartbeat)."""
        ids = [bot_id_of(b) for b in bot_ids]
        if not ids:
            return 0
        with self._tx.write() as tx:
            changed = tx.bots.touch_runtime(ids, self._clock.now())
        mono = time.monotonic()
        with self._seen_lock:
            for b in ids:
                self._seen[b] = mono
        return changed

    def runtime_seen(self, bot_id: str) -> None:
        """An ingest API call from the bot's runtime: it is alive (recorded at most every
        `runtime_heartbeat_s / 2` per bot and process, so polling runtimes cost no write each)."""
        bot_id = bot_id_of(bot_id)
        mono = time.monotonic()
        with self._seen_lock:
            last = self._seen.get(bot_id)
            if last is not None and mono - last < self._settings.runtime_heartbeat_s / 2:
                return
            if len(self._seen) > SEEN_MEMORY:
                self._seen.clear()
            self._seen[bot_id] = mono
        self.touch_runtime([bot_id])
