"""Live controls of a bot in its meeting: pause_recording, resume_recording, send_message,
send_image (API.md "MeetStream parity"). Each is recorded on the bot's row in one transaction;
the runtime applies them to what it records (the simulated runtime: when it hands its files in)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from meetstore.domain import live_controls as live
from meetstore.domain.artifacts import BotStatus
from meetstore.domain.clock import SystemClock
from meetstore.domain.ids import canonical_id
from meetstore.domain.ports import Clock
from meetstore.domain.records import BotRecord
from meetstore.domain.repositories import Transactions
from meetstore.errors import BotNotInMeeting
from meetstore.services.bots import not_found

IN_MEETING = frozenset({BotStatus.IN_MEETING.value, BotStatus.RECORDING.value})
MAX_MESSAGE_CHARS = 4000


@dataclass(frozen=True, slots=True)
class ControlAnswer:
    bot_id: str
    paused: bool


class BotControls:
    def __init__(self, tx: Transactions, clock: Clock | None = None) -> None:
        self._tx = tx
        self._clock: Clock = clock or SystemClock()

    def pause(self, account_id: str, bot_id: str) -> ControlAnswer:
        return self._change(account_id, bot_id, "pause", live.paused)

    def resume(self, account_id: str, bot_id: str) -> ControlAnswer:
        return self._change(account_id, bot_id, "resume", live.resumed)

    def send_message(self, account_id: str, bot_id: str, message: str) -> ControlAnswer:
        return self._change(account_id, bot_id, "send a message", lambda c, now: live.with_message(c, message, now))

    def send_image(self, account_id: str, bot_id: str, img_url: str, display_duration: int | None) -> ControlAnswer:
        """Recorded in the manifest's events; the image is never fetched by meetstore."""
        return self._change(
            account_id, bot_id, "show an image", lambda c, now: live.with_image(c, img_url, display_duration, now)
        )

    def _change(
        self,
        account_id: str,
        bot_id: str,
        what: str,
        change: Callable[[dict[str, Any] | None, Any], dict[str, Any]],
    ) -> ControlAnswer:
        bid = canonical_id(bot_id)
        with self._tx.write() as tx:
            bot = None if bid is None else tx.bots.of_account(bid, account_id, lock=True)
            if bot is None:
                raise not_found()
            self._in_meeting(bot, what)
            bot.controls = change(bot.controls, self._clock.now())
            return ControlAnswer(bot.id, live.is_paused(bot.controls))

    @staticmethod
    def _in_meeting(bot: BotRecord, what: str) -> None:
        if bot.status not in IN_MEETING:
            raise BotNotInMeeting(
                f"The bot is not in its meeting (status {bot.status}): there is no recording to {what}.",
                status=bot.status,
            )
