"""The bot a runtime speaks for: its id, and the rule that a bot that left is final."""

from __future__ import annotations

from meetstore.domain.artifacts import NEVER_ADMITTED, BotStatus
from meetstore.domain.ids import canonical_id
from meetstore.domain.records import BotRecord
from meetstore.domain.repositories import Transaction
from meetstore.errors import BotNotFound, Conflict


def bot_id_of(raw: str) -> str:
    """A runtime's bot id, canonical; BotNotFound for one that is not an id."""
    bot_id = canonical_id(raw)
    if bot_id is None:
        raise BotNotFound("No bot with this id exists.")
    return bot_id


def the_bot(tx: Transaction, bot_id: str, *, lock: bool = False) -> BotRecord:
    bot = tx.bots.get(bot_id, lock=lock)
    if bot is None:
        raise BotNotFound("No bot with this id exists.")
    return bot


def refuse_if_left(bot: BotRecord) -> None:
    if BotStatus(bot.status) in NEVER_ADMITTED:
        raise Conflict(
            f"The bot was never let into its meeting (status {bot.status}); it records nothing.",
            status=bot.status,
        )
    if bot.pin_kind is not None:
        raise Conflict(
            f"The bot has left its meeting (status {bot.status}); its files are final.", status=bot.status
        )
