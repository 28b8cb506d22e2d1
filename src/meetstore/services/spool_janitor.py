"""Spool copies: deleted once their upload succeeded, and kept for `spool_retention_days` after a
failed one (so a fixed bucket can be retried with nothing lost), then deleted by the janitor."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from meetstore.config import Settings
from meetstore.domain.artifacts import BotStatus
from meetstore.domain.clock import SystemClock
from meetstore.domain.ports import Clock, Spool
from meetstore.domain.repositories import Transactions

log = logging.getLogger("meetstore.spool")


class SpoolJanitor:
    def __init__(
        self, tx: Transactions, spool: Spool, settings: Settings, *, clock: Clock | None = None
    ) -> None:
        self._tx = tx
        self._spool = spool
        self._settings = settings
        self._clock: Clock = clock or SystemClock()

    def delete(self, files: Sequence[tuple[int, str, str]]) -> None:
        """Delete spool copies (artifact id, bot id, name), then mark them deleted (a crash in
        between: the janitor finishes), and remove the folders nothing is kept in any more."""
        for _id, bot_id, name in files:
            self._spool.delete(bot_id, name)
        ids = [f[0] for f in files]
        if ids:
            with self._tx.write() as tx:
                tx.artifacts.mark_spool_deleted(ids)
        # Not only for the bot an upload made Done: another thread may have finished the bot's
        # last upload while this one was deleting its file. Whichever marks its file deleted last
        # sees the bot Done with nothing kept, and removes the folder.
        for bot_id in {f[1] for f in files}:
            self.remove_bot_if_done(bot_id)

    def remove_bot_if_done(self, bot_id: str) -> None:
        """Remove a Done bot's spool folder once no artifact file of it is kept."""
        with self._tx.read() as tx:
            bot = tx.bots.get(bot_id)
            if bot is None or bot.status != BotStatus.DONE.value or tx.artifacts.kept_in_spool(bot_id):
                return
        self._spool.remove_bot(bot_id)

    def purge(self, batch: int = 500) -> int:
        """Delete the spool copies of uploaded artifacts (left by a crash) and of failed artifacts
        older than `spool_retention_days`. Returns how many files it removed."""
        cutoff = self._clock.now() - timedelta(days=self._settings.spool_retention_days)
        with self._tx.write() as tx:
            rows = tx.artifacts.spool_copies_due(cutoff, batch)
            files = [(r.id, r.bot_id, r.spool_name) for r in rows]
            for r in rows:
                r.spool_deleted = True  # marked first: a concurrent retry then sees the file gone
        for _id, bot_id, name in files:
            self._spool.delete(bot_id, name)
        for bot_id in {f[1] for f in files}:
            self.remove_bot_if_done(bot_id)
        if files:
            log.info("spool janitor removed %d file(s)", len(files))
        return len(files)
