"""What an upload's outcome does beyond its own row: the bot's Done, and undoing an upload that
finished after its bot was erased."""

from __future__ import annotations

import logging
from datetime import datetime

from meetstore.domain.artifacts import BotStatus, UploadState
from meetstore.domain.bot_status import move_to
from meetstore.domain.ports import ObjectStore
from meetstore.domain.records import BotRecord
from meetstore.domain.repositories import Transaction
from meetstore.services.events import emit
from meetstore.services.upload_items import ClaimedArtifact

log = logging.getLogger("meetstore.upload")


def mark_done_if_finished(tx: Transaction, bot: BotRecord, now: datetime) -> None:
    """Mark the bot Done when no artifact of it is pending any more (caller holds its lock)."""
    if bot.status == BotStatus.DONE.value or tx.artifacts.count_of_bot(bot.id, UploadState.PENDING.value):
        return
    failed = tx.artifacts.count_of_bot(bot.id, UploadState.FAILED.value)
    move_to(bot, BotStatus.DONE, now)
    bot.done_at = now
    message = (
        "Every file of the bot is stored."
        if not failed
        else f"The bot is done; {failed} file(s) failed to upload (see storage.upload_failed)."
    )
    emit(tx, bot, "bot.done", message=message, now=now)


def was_erased(tx: Transaction, item: ClaimedArtifact) -> bool:
    rows = [r for r in tx.artifacts.of_kinds(item.bot_id, [item.kind]) if r.id == item.id]
    return bool(rows) and rows[0].state == UploadState.ERASED.value


def undo_upload(store: ObjectStore, item: ClaimedArtifact) -> None:
    try:
        store.delete_objects([item.key])
    except Exception as exc:
        log.warning("deleting %s of an erased bot failed: %s", item.key, type(exc).__name__)
