"""What a bot runtime reports while its bot is in the meeting: status, meeting data, liveness.

Statuses only move forward (Joining → InWaitingRoom → InMeeting → Recording → Leaving); `Stopped` is
"left" and goes to the hand-in; `Error` may come at any time before it; `Denied` and `NotAllowed`
end a bot that was never let in. Once a bot has left (or was never let in), its files and meeting
data are final: a runtime's late call is 409.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from meetstore.config import Settings
from meetstore.domain.artifacts import LIVE_STATUSES, NEVER_ADMITTED, BotStatus
from meetstore.domain.bot_status import move_to, runtime_may_move
from meetstore.domain.clock import SystemClock
from meetstore.domain.ports import Clock
from meetstore.domain.repositories import Transactions
from meetstore.errors import Conflict, InvalidRequest
from meetstore.services.events import emit
from meetstore.services.handin import HandInService
from meetstore.services.runtime_bots import bot_id_of, refuse_if_left, the_bot

_STATUS_EVENT = {
    BotStatus.IN_WAITING_ROOM: ("bot.in_waiting_room", "The bot is in the waiting room."),
    BotStatus.IN_MEETING: ("bot.inmeeting", "The bot joined the meeting."),
    BotStatus.RECORDING: ("bot.recording", "The bot started recording."),
    BotStatus.LEAVING: ("bot.leaving", "The bot is leaving the meeting."),
    BotStatus.DENIED: ("bot.denied", "The host denied the bot entry to the meeting."),
    BotStatus.NOT_ALLOWED: ("bot.notallowed", "Nobody admitted the bot from the waiting room in time."),
    BotStatus.ERROR: ("bot.failed", "The bot's runtime failed."),
}
SEEN_MEMORY = 10_000
RUNTIME_STATUSES = ("InWaitingRoom", "InMeeting", "Recording", "Leaving", "Denied", "NotAllowed", "Stopped", "Error")
"""What a runtime may report (the ingest API's `status`)."""


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

    def set_status(self, bot_id: str, status: BotStatus | str, *, kicked: bool = False) -> str:
        """Move a live bot forward (never back), emitting the status's event (bot.inmeeting,
        bot.recording, bot.leaving, bot.failed, ...). `kicked`: a Leaving the meeting decided
        (bot.kicked instead of bot.leaving).

        `Stopped` is "left" (pin and enqueue). `Denied` and `NotAllowed` end a bot that was never
        let in: it recorded nothing, so bot.stopped follows at once and nothing is handed in.
        Setting the current status again changes nothing.
        """
        bot_id = bot_id_of(bot_id)
        new = BotStatus(status)
        if new is BotStatus.STOPPED:
            self._handin.left(bot_id)
            return self.status_of(bot_id)
        if new in (BotStatus.SCHEDULED, BotStatus.JOINING, BotStatus.DONE):
            raise InvalidRequest(
                f"A runtime cannot set the status {new.value}.",
                [{"field": "status", "message": f"must be one of {', '.join(RUNTIME_STATUSES)}"}],
            )
        with self._tx.write() as tx:
            bot = the_bot(tx, bot_id, lock=True)
            current = BotStatus(bot.status)
            if new is current:
                return current.value
            refuse_if_left(bot)
            if current is BotStatus.SCHEDULED:
                raise Conflict("The bot is scheduled: it joins at its join_at, not before.", status=current.value)
            if new is not BotStatus.ERROR and (current not in LIVE_STATUSES or not runtime_may_move(current, new)):
                raise Conflict(f"The bot is {current.value}; it cannot move to {new.value}.", status=current.value)
            now = self._clock.now()
            move_to(bot, new, now)
            event, message = _STATUS_EVENT[new]
            if kicked and new is BotStatus.LEAVING:
                event, message = "bot.kicked", "The bot was removed from the meeting."
            emit(tx, bot, event, message=message, now=now)
            if new in NEVER_ADMITTED:
                emit(tx, bot, "bot.stopped", message="The bot never joined the meeting; nothing was recorded.", now=now)
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
