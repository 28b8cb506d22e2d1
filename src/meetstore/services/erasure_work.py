"""The erasure outbox's work: a worker claims an erasure (a lease), deletes what is left of the
bot everywhere meetstore reaches, and finishes it in one transaction: the receipt on the bot,
its meeting data and webhook payloads gone, the `data_deletion` webhook queued.

Safe to repeat at any point: what happened to each location is written to the erasure row as the
work goes (fenced on the lease, which that write also renews), so a worker that takes over a dead
one's erasure only does what is left. An upload still holding a lease on one of the bot's
artifacts is first waited out: its renewal fails (the row is no longer pending), it cancels
itself and gives the lease back, so no object is written after its key was deleted.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from meetstore.config import Settings
from meetstore.domain.artifacts import BotStatus
from meetstore.domain.audit import Actor
from meetstore.domain.backoff import backoff_delay
from meetstore.domain.bot_status import move_to
from meetstore.domain.clock import SystemClock
from meetstore.domain.erasure import (
    DELETED,
    NOT_FOUND,
    ErasureReason,
    ErasureScope,
    ErasureState,
    LeftReason,
    ObjectOutcome,
    bucket_location,
    left,
    platform_location,
    receipt,
    receipt_status,
    spool_location,
    stored,
)
from meetstore.domain.erasure import progress_of as erasure_progress
from meetstore.domain.key_layout import bot_listing_prefix
from meetstore.domain.pin import PinKind, PinnedLocation
from meetstore.domain.ports import Clock, ObjectStore, Spool
from meetstore.domain.records import ArtifactRecord
from meetstore.domain.repositories import Transactions
from meetstore.errors import S3OperationError
from meetstore.services import multipart
from meetstore.services.audit import AuditTrail
from meetstore.services.events import emit
from meetstore.services.locations import Locations, StorageChanged, pin_of

log = logging.getLogger("meetstore.erasure")

WAIT_FOR_UPLOAD_S = 0.5
"""How soon an erasure waiting for an upload to stop looks again (the upload stops within a
lease renewal, or its lease runs out)."""


@dataclass(frozen=True, slots=True)
class ClaimedErasure:
    id: int
    bot_id: str
    account_id: str
    taken_over: bool


class ErasureWork:
    def __init__(
        self,
        tx: Transactions,
        spool: Spool,
        locations: Locations,
        settings: Settings,
        audit: AuditTrail,
        *,
        clock: Clock | None = None,
    ) -> None:
        self._audit = audit
        self._tx = tx
        self._spool = spool
        self._locations = locations
        self._settings = settings
        self._clock: Clock = clock or SystemClock()

    @property
    def _lease(self) -> timedelta:
        return timedelta(seconds=self._settings.lease_seconds)

    def claim(self, worker_id: str, limit: int = 1) -> list[ClaimedErasure]:
        now = self._clock.now()
        with self._tx.write() as tx:
            return [
                ClaimedErasure(row.id, row.bot_id, row.account_id, taken)
                for row, taken in tx.erasures.claim_due(worker_id, limit, now, self._lease)
            ]

    def release(self, worker_id: str, ids: list[int]) -> None:
        if ids:
            with self._tx.write() as tx:
                tx.erasures.release(worker_id, ids)

    def process(self, item: ClaimedErasure, worker_id: str) -> str:
        """Do one claimed erasure: `done`, `waiting` (an upload is still stopping), `retry`
        (a transient store error) or `lost` (the lease was taken over)."""
        now = self._clock.now()
        with self._tx.read() as tx:
            job = tx.erasures.fenced(item.id, worker_id)
            bot = tx.bots.get(item.bot_id)
            if job is None or bot is None:
                return "lost"
            upload_lease = tx.artifacts.latest_live_lease(bot.id, now)
            rows = tx.artifacts.of_bot(bot.id)
            progress = erasure_progress(job.objects)
            scope = ErasureScope(job.scope)
            attempts = job.attempts
            pin = pin_of(bot)
        if upload_lease is not None:
            return self._later(item, worker_id, min(upload_lease, now + timedelta(seconds=WAIT_FOR_UPLOAD_S)))
        try:
            self._erase_spool(item.bot_id, rows, progress)
            if not self._save(item, worker_id, progress):
                return "lost"
            if pin is not None:
                self._erase_stored(item, pin, rows, scope, progress)
        except S3OperationError as err:
            if attempts + 1 < self._settings.erasure_max_attempts:
                log.info("transient %s erasing bot %s; retrying", err.s3_error, item.bot_id)
                self._save(item, worker_id, progress)
                delay = backoff_delay(
                    attempts + 1, self._settings.upload_backoff_base_s, self._settings.upload_backoff_max_s
                )
                return self._later(
                    item, worker_id, self._clock.now() + timedelta(seconds=delay), failed=err.s3_error
                )
            assert pin is not None
            for row in rows:
                where = self._where(pin, row.key)
                if where not in progress:
                    progress[where] = left(LeftReason.DENIED, err.s3_error, "s3:DeleteObject")
        return "done" if self._finish(item, worker_id, progress) else "lost"

    # --- the places -----------------------------------------------------------------------------
    def _erase_spool(
        self, bot_id: str, rows: list[ArtifactRecord], progress: dict[str, ObjectOutcome]
    ) -> None:
        present = set(self._spool.names(bot_id))
        for name in sorted(present):
            self._spool.delete(bot_id, name)
            progress[spool_location(name)] = DELETED
        for row in rows:
            where = spool_location(row.spool_name)
            if not row.spool_deleted and where not in progress:
                progress[where] = NOT_FOUND
        self._spool.remove_bot(bot_id)

    @staticmethod
    def _where(pin: PinnedLocation, key: str) -> str:
        return platform_location(key) if pin.kind is PinKind.PLATFORM else bucket_location(pin.bucket, key)

    def _erase_stored(
        self,
        item: ClaimedErasure,
        pin: PinnedLocation,
        rows: list[ArtifactRecord],
        scope: ErasureScope,
        progress: dict[str, ObjectOutcome],
    ) -> None:
        todo = {
            r.key: r
            for r in rows
            if not (self._where(pin, r.key) in progress and progress[self._where(pin, r.key)].final)
        }
        if not todo:
            return
        if pin.kind is PinKind.CUSTOM and scope is ErasureScope.PLATFORM:
            progress.update({self._where(pin, k): left(LeftReason.SCOPE) for k in todo})
            return
        try:
            store, _ = self._locations.store_for(item.account_id, pin)
        except StorageChanged:
            progress.update({self._where(pin, k): left(LeftReason.NOT_CONFIGURED) for k in todo})
            return
        self._abort_open(store, list(todo.values()))
        # A file never uploaded may still be there (its upload stopped after the PUT); where the
        # store can list the bot's objects (one listing per category prefix, not a HEAD per key),
        # the receipt says not_found for what is not.
        never = sorted(k for k, row in todo.items() if row.uploaded_at is None)
        stored_now: set[str] = set()
        for prefix in sorted({bot_listing_prefix(k, item.bot_id) for k in never}):
            listed = store.keys_under(prefix)
            stored_now |= set(never) if listed is None else listed
        to_delete: list[str] = []
        for key in sorted(todo):
            if key in never and key not in stored_now:
                progress[self._where(pin, key)] = NOT_FOUND
            else:
                to_delete.append(key)
        for key, outcome in store.delete_objects(to_delete).items():
            progress[self._where(pin, key)] = outcome

    @staticmethod
    def _abort_open(store: ObjectStore, rows: list[ArtifactRecord]) -> None:
        cleanup = store.multipart
        if cleanup is None:
            return
        for row in rows:
            if row.multipart_upload_id:
                multipart.abort_quietly(cleanup, row.key, row.multipart_upload_id)

    # --- writes ---------------------------------------------------------------------------------
    def _save(self, item: ClaimedErasure, worker_id: str, progress: dict[str, ObjectOutcome]) -> bool:
        """Keep what happened so far (and renew the lease); False once the lease is lost."""
        with self._tx.write() as tx:
            job = tx.erasures.fenced(item.id, worker_id)
            if job is None:
                return False
            job.objects = stored(progress)
            job.lease_expires_at = self._clock.now() + self._lease
            return True

    def _later(self, item: ClaimedErasure, worker_id: str, at: object, *, failed: str | None = None) -> str:
        with self._tx.write() as tx:
            job = tx.erasures.fenced(item.id, worker_id)
            if job is None:
                return "lost"
            job.next_attempt_at = at  # type: ignore[assignment]
            job.lease_owner = None
            job.lease_expires_at = None
            if failed is not None:
                job.attempts += 1
                job.last_error = failed
        return "retry" if failed is not None else "waiting"

    def _finish(self, item: ClaimedErasure, worker_id: str, progress: dict[str, ObjectOutcome]) -> bool:
        now = self._clock.now()
        with self._tx.write() as tx:
            job = tx.erasures.fenced(item.id, worker_id)
            if job is None:
                return False
            bot = tx.bots.locked(item.bot_id)
            reason = ErasureReason(job.reason)
            # Crypto-shredding: with the key gone, no copy of the spooled files (a backup of the
            # spool or of the staging bucket) opens any more. A repeated erasure finds it gone.
            destroyed = tx.spool_keys.destroy_bot_key(bot.id) or (bot.deletion or {}).get("spool_key") == "destroyed"
            done = receipt(
                progress,
                requested_at=job.requested_at,
                finished_at=now,
                reason=reason,
                scope=ErasureScope(job.scope),
                spool_key_destroyed=destroyed,
            )
            job.objects = stored(progress)
            job.state = ErasureState.DONE.value
            job.finished_at = now
            job.lease_owner = None
            job.lease_expires_at = None
            job.attempts += 1
            tx.artifacts.mark_spool_deleted([r.id for r in tx.artifacts.of_bot(bot.id)])
            tx.webhook_events.erase_of_bot(bot.id, now)
            # The meeting's data and the request that named it go; id, account, status, times stay.
            bot.meeting_data = None
            bot.options = {}
            bot.meeting_link = ""
            bot.deletion = done
            if bot.status == BotStatus.STOPPED.value:  # its uploads were stopped for good
                move_to(bot, BotStatus.DONE, now)
                bot.done_at = now
            bot.updated_at = now
            status = receipt_status(progress)
            why = (
                "its retention period ended"
                if reason is ErasureReason.RETENTION
                else "deletion was requested"
            )
            emit(
                tx,
                bot,
                "data_deletion",
                message=f"The bot's media was erased because {why}"
                + ("." if status == "deleted" else "; some objects were left (see the receipt)."),
                extra={"reason": reason.value, "deletion": done},
                now=now,
            )
            requester = job.requested_by or {}
            self._audit.record(
                tx,
                bot.account_id,
                "data.expired" if reason is ErasureReason.RETENTION else "data.deleted",
                bot_id=bot.id,
                detail={"deletion": done},
                actor=Actor(requester.get("api_key_id"), requester.get("address")),
            )
        log.info("erased bot %s: %s, %d locations", item.bot_id, status, len(progress))
        return True
