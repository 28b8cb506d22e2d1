"""retry_uploads: every failed upload of a bot whose recorded file is still kept goes back in the
queue (`requeue`), and the bot is Stopped again until they are final."""

from __future__ import annotations

from pathlib import Path

from meetstore.adapters.db.engine import Database
from meetstore.adapters.db.repositories.artifacts import Artifacts, apply, progress_of
from meetstore.adapters.db.repositories.bots import Bots
from meetstore.adapters.db.tables import Artifact
from meetstore.config import Settings
from meetstore.domain.artifacts import BotStatus, requeue
from meetstore.domain.clock import SystemClock
from meetstore.domain.ports import Clock
from meetstore.errors import NothingToRetry
from meetstore.services.bots import not_found as bot_not_found
from meetstore.services.bots import parse_bot_id

GONE_MARKER = "cannot be retried"


class RetryService:
    def __init__(self, db: Database, settings: Settings, *, clock: Clock | None = None) -> None:
        self._db = db
        self._settings = settings
        self._clock: Clock = clock or SystemClock()

    def retry(self, account_id: str, bot_id: str) -> int:
        """Requeue every failed artifact of the bot whose file is still kept; how many were."""
        now = self._clock.now()
        retrying = 0
        gone = 0
        bot_id = parse_bot_id(bot_id)  # a malformed id is an unknown bot (never a database error)
        with self._db.session() as s:
            bot = Bots(s).of_account_locked(bot_id, account_id)
            if bot is None:
                raise bot_not_found()  # the same body for a foreign bot as for a random id
            failed = Artifacts(s, postgres=self._db.is_postgres).failed_of_bot(bot_id)
            for row in failed:
                if row.spool_deleted or not self._spool_path(row).is_file():
                    gone += 1
                    row.spool_deleted = True
                    row.last_error_message = self._gone_message(row)
                    continue
                apply(row, requeue(progress_of(row), now))
                retrying += 1
            if retrying:
                bot.status = BotStatus.STOPPED.value
                bot.done_at = None
                bot.updated_at = now
        if not failed:
            raise NothingToRetry("No upload of this bot has failed: there is nothing to retry.")
        if not retrying:
            raise NothingToRetry(
                f"None of the {gone} failed upload(s) of this bot can be retried: their recorded files "
                f"were deleted from the spool after the {self._settings.spool_retention_days:g}-day "
                "retention period."
            )
        return retrying

    def _spool_path(self, row: Artifact) -> Path:
        return self._settings.spool_dir / row.bot_id / row.spool_name

    def _gone_message(self, row: Artifact) -> str:
        previous = row.last_error_message or ""
        if GONE_MARKER in previous:
            return previous
        return (
            f"{previous} The recorded file was deleted from the spool after the "
            f"{self._settings.spool_retention_days:g}-day retention period, so this upload {GONE_MARKER}."
        ).strip()
