"""How a bot's row says its media was erased: read by fetch, retry and detail alike."""

from __future__ import annotations

from datetime import datetime

from meetstore.domain.erasure import ErasureReason
from meetstore.domain.records import BotRecord


def erasure_of(bot: BotRecord) -> ErasureReason | None:
    """Why the bot's media was erased (or is being erased); None while it is kept."""
    if bot.deletion_requested_at is None:
        return None
    return ErasureReason(bot.deletion_reason or ErasureReason.REQUEST.value)


def erased_at(bot: BotRecord) -> datetime | None:
    """deleted_at (the request) or expired_at (the end of the retention) of an erased bot."""
    if erasure_of(bot) is ErasureReason.RETENTION:
        return bot.retention_expires_at or bot.deletion_requested_at
    return bot.deletion_requested_at
