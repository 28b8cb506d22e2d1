"""retry_uploads: every failed upload of a bot whose recorded file is still kept goes back in the
queue (`requeue`), and the bot is Stopped again until they are final."""

from __future__ import annotations

from meetstore.config import Settings
from meetstore.domain.artifacts import BotStatus, apply, progress_of, requeue
from meetstore.domain.bot_status import move_to
from meetstore.domain.clock import SystemClock, rfc3339
from meetstore.domain.ids import canonical_id
from meetstore.domain.ports import Clock, Spool
from meetstore.domain.records import ArtifactRecord
from meetstore.domain.repositories import Transactions
from meetstore.errors import NothingToRetry, RetryOfErasedMedia
from meetstore.services.audit import AuditTrail
from meetstore.services.bots import not_found as bot_not_found

GONE_MARKER = "cannot be retried"


class RetryService:
    def __init__(
        self,
        tx: Transactions,
        spool: Spool,
        settings: Settings,
        *,
        audit: AuditTrail | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._audit = audit or AuditTrail(tx)
        self._tx = tx
        self._spool = spool
        self._settings = settings
        self._clock: Clock = clock or SystemClock()

    def retry(self, account_id: str, bot_id: str) -> int:
        """Requeue every failed artifact of the bot whose file is still kept; how many were."""
        now = self._clock.now()
        retrying = 0
        gone = 0
        bid = canonical_id(bot_id)  # a malformed id is an unknown bot (never a database error)
        with self._tx.write() as tx:
            bot = None if bid is None else tx.bots.of_account(bid, account_id, lock=True)
            if bot is None:
                raise bot_not_found()  # the same body for a foreign bot as for a random id
            if bot.deletion_requested_at is not None:
                raise RetryOfErasedMedia(
                    "The media of this bot was deleted; nothing of it can be uploaded again.",
                    deleted_at=rfc3339(bot.deletion_requested_at),
                )
            failed = tx.artifacts.failed_of_bot(bot.id)
            for row in failed:
                if row.spool_deleted or not self._spool.exists(row.bot_id, row.spool_name):
                    gone += 1
                    row.spool_deleted = True
                    row.last_error_message = self._gone_message(row)
                    continue
                apply(row, requeue(progress_of(row), now))
                retrying += 1
            if retrying:
                move_to(bot, BotStatus.STOPPED, now)
                bot.done_at = None
                self._audit.record(
                    tx,
                    account_id,
                    "uploads.retried",
                    bot_id=bot.id,
                    detail={"retrying": retrying, "gone": gone},
                )
        if not failed:
            raise NothingToRetry("No upload of this bot has failed: there is nothing to retry.")
        if not retrying:
            raise NothingToRetry(
                f"None of the {gone} failed upload(s) of this bot can be retried: their recorded files "
                f"were deleted from the spool after the {self._settings.spool_retention_days:g}-day "
                "retention period."
            )
        return retrying

    def _gone_message(self, row: ArtifactRecord) -> str:
        previous = row.last_error_message or ""
        if GONE_MARKER in previous:
            return previous
        return (
            f"{previous} The recorded file was deleted from the spool after the "
            f"{self._settings.spool_retention_days:g}-day retention period, so this upload {GONE_MARKER}."
        ).strip()
