"""The upload pipeline over the artifact outbox: claim, upload, record the outcome.

Artifact rows are the durable outbox (adapters/db/outbox.py). A worker *claims* due rows with a
lease, streams the spool file to the store the bot is pinned to, and records the outcome as one
named transition (domain/artifacts.py) on the row fenced on its lease: a worker that lost its
lease changes nothing. A dead worker's lease expires and another worker takes the row over, first
aborting the multipart upload the dead one left open (services/multipart.py).

Outcomes: uploaded (spool copy deleted, `*.processed` event); transient S3 error (retried with
backoff up to `upload_max_attempts`); permanent error (failed for good, spool copy kept for
`spool_retention_days`, `storage.upload_failed`). When the last artifact of a bot is final, the
bot becomes Done (`bot.done`) in the same transaction.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from meetstore.config import Settings
from meetstore.domain.artifacts import (
    ArtifactKind,
    apply,
    mark_failed,
    mark_uploaded,
    progress_of,
    schedule_retry,
)
from meetstore.domain.backoff import backoff_delay
from meetstore.domain.cancel import CancelToken, InFlight
from meetstore.domain.clock import SystemClock
from meetstore.domain.pin import PinKind, same_bucket
from meetstore.domain.ports import Clock, Metrics, ObjectOwner, ObjectStore, Spool, SpoolKeys, SpoolReader
from meetstore.domain.records import ArtifactRecord, BotRecord
from meetstore.domain.repositories import Transaction, Transactions
from meetstore.domain.storage_config import AccessMode
from meetstore.errors import (
    S3OperationError,
    SpoolFileDamaged,
    SpoolKeyUnavailable,
    SpoolUnavailable,
    Unavailable,
    UploadCancelled,
)
from meetstore.services import multipart
from meetstore.services.events import emit
from meetstore.services.locations import Locations, StorageChanged, pin_of
from meetstore.services.spool_janitor import SpoolJanitor
from meetstore.services.upload_failures import (
    STORAGE_NOT_ACCESSIBLE,
    Failure,
    not_accessible,
    spool_damaged,
    spool_missing,
    spool_unavailable,
    unexpected,
)
from meetstore.services.upload_items import ClaimedArtifact, UploadOutcome, sha256_b64
from meetstore.services.upload_outcomes import mark_done_if_finished, undo_upload, was_erased

log = logging.getLogger("meetstore.uploads")

PROCESSED_EVENT: dict[str, tuple[str, str]] = {
    ArtifactKind.AUDIO.value: ("audio.processed", "The meeting audio is stored."),
    ArtifactKind.VIDEO.value: ("video.processed", "The meeting video is stored."),
    ArtifactKind.TRANSCRIPT_PROCESSED.value: ("transcription.processed", "The transcript is stored."),
}



class UploadService:
    def __init__(
        self,
        tx: Transactions,
        spool: Spool,
        keys: SpoolKeys,
        settings: Settings,
        locations: Locations,
        janitor: SpoolJanitor,
        metrics: Metrics,
        *,
        clock: Clock | None = None,
        before_upload: Callable[[str], object] | None = None,
    ) -> None:
        self._tx = tx
        self._spool = spool
        self._keys = keys
        self._settings = settings
        self._locations = locations
        self._janitor = janitor
        self._metrics = metrics
        self._clock: Clock = clock or SystemClock()
        self._before_upload = before_upload
        """Called with the account id before uploading to a custom bucket (the health check)."""
        self._in_flight = InFlight()

    @property
    def _lease(self) -> timedelta:
        return timedelta(seconds=self._settings.lease_seconds)

    # --- the outbox -------------------------------------------------------------------------------
    def claim(self, worker_id: str, limit: int = 1) -> list[ClaimedArtifact]:
        """Lease up to `limit` due pending artifacts to `worker_id` (one transaction)."""
        now = self._clock.now()
        with self._tx.write() as tx:
            claimed = tx.artifacts.claim_due(worker_id, limit, now, self._lease)
            if not claimed:
                return []
            bots = tx.bots.by_ids(list({row.bot_id for row, _ in claimed}))
            pins = {bot.id: pin_of(bot) for bot in bots}
            return [
                ClaimedArtifact(
                    id=row.id,
                    bot_id=row.bot_id,
                    account_id=row.account_id,
                    kind=row.kind,
                    spool_name=row.spool_name,
                    key=row.key,
                    content_type=row.content_type,
                    size=row.size,
                    sha256=row.sha256,
                    attempts=row.attempts,
                    multipart_upload_id=row.multipart_upload_id,
                    pin=pins.get(row.bot_id),
                    taken_over=taken_over,
                )
                for row, taken_over in claimed
            ]

    def renew(self, worker_id: str, ids: list[int]) -> set[int]:
        """Extend the leases `worker_id` still holds among `ids`; returns those it still holds."""
        if not ids:
            return set()
        with self._tx.write() as tx:
            return tx.artifacts.renew(worker_id, ids, self._clock.now() + self._lease)

    def release(self, worker_id: str, ids: list[int]) -> None:
        """Give leases back at once (graceful shutdown), so another worker need not wait them out."""
        if ids:
            with self._tx.write() as tx:
                tx.artifacts.release(worker_id, ids)

    def heartbeat(self, worker_id: str, kind: str = "upload") -> None:
        with self._tx.write() as tx:
            tx.heartbeats.beat(worker_id, kind, self._clock.now())

    def forget_worker(self, worker_id: str) -> None:
        with self._tx.write() as tx:
            tx.heartbeats.forget(worker_id)

    # --- one upload ------------------------------------------------------------------------------
    def process(
        self, item: ClaimedArtifact, worker_id: str, cancel: CancelToken | None = None
    ) -> UploadOutcome:
        """Upload one claimed artifact and record the outcome (fenced on the lease)."""
        started = time.monotonic()
        token = cancel or CancelToken()
        try:
            outcome = self._attempt(item, worker_id, token)
        except Unavailable:
            raise  # the database is away: nothing can be recorded; the lease expires
        except Exception as exc:
            # Anything else that broke the attempt or the write of its outcome counts as an
            # attempt: an error that repeats must end the row's retries, not loop forever.
            outcome = self._after_error(item, worker_id, unexpected(exc, item.pin))
        finally:
            self._in_flight.remove(item.account_id, token)
        self._metrics.upload_finished(outcome.value, item.size, time.monotonic() - started)
        return outcome

    def cancel_account(self, account_id: str) -> None:
        """The account's storage configuration changed (in any process): stop its uploads in
        flight with another version of it. Each gives its lease back and is uploaded again with
        what is configured now, or fails as storage_not_accessible when its bucket is no longer
        configured."""
        in_flight = self._in_flight.of(account_id)
        if not in_flight:
            return
        current = self._locations.current(account_id)
        for token, version in in_flight:
            if current is None or current.version != version:
                token.set()

    def _attempt(self, item: ClaimedArtifact, worker_id: str, token: CancelToken) -> UploadOutcome:
        pin = item.pin
        if pin is None:
            no_pin = "The bot has no pinned storage location; its files cannot be uploaded."
            return self._finish_failed(item, worker_id, Failure(STORAGE_NOT_ACCESSIBLE, "PutObject", "", no_pin))
        try:
            source = self._spool.open(item.bot_id, item.spool_name, self._keys.data_key(item.account_id, item.bot_id))
        except FileNotFoundError:
            return self._finish_failed(item, worker_id, spool_missing(item.spool_name, pin.bucket, self._settings.spool_retention_days))
        except (SpoolKeyUnavailable, SpoolFileDamaged):
            return self._finish_failed(item, worker_id, spool_damaged(item.spool_name, pin.bucket))
        except SpoolUnavailable as exc:
            return self._after_error(item, worker_id, spool_unavailable(exc, pin.bucket))
        with source:
            return self._attempt_from(item, worker_id, token, source)

    def _attempt_from(self, item: ClaimedArtifact, worker_id: str, token: CancelToken, source: SpoolReader) -> UploadOutcome:
        pin = item.pin
        assert pin is not None
        try:
            store, version = self._locations.store_for(item.account_id, pin)
        except StorageChanged:
            return self._finish_failed(item, worker_id, not_accessible(pin))
        if version is not None:
            # A later change of this account's storage (in any process) stops this upload, unless
            # it is already using the version the change made (cancel_account).
            self._in_flight.add(item.account_id, token, version)
        if self._before_upload is not None and pin.kind is PinKind.CUSTOM:
            try:
                self._before_upload(item.account_id)
            except Exception as exc:  # the upload itself is the authority; a failed check never blocks it
                log.warning("health check before upload failed: %s", type(exc).__name__)

        cleanup = store.multipart
        if cleanup is not None and item.multipart_upload_id:
            try:
                multipart.abort_recorded(cleanup, item.key, item.multipart_upload_id)
                self._set_multipart(item.id, worker_id, None)
            except S3OperationError as err:
                return self._after_error(item, worker_id, Failure.of(err))
        if cleanup is not None and item.taken_over:
            # Killed between CreateMultipartUpload's answer and recording its UploadId, the dead
            # worker left an upload nobody knows of: abort whatever is open for this key.
            multipart.abort_unrecorded(cleanup, item.key, item.size)

        recorded: list[str] = []

        def on_created(upload_id: str) -> None:
            recorded.append(upload_id)
            if not self._set_multipart(item.id, worker_id, upload_id):
                token.set()  # the lease is gone: stop, and let the manager abort this upload

        try:
            store.upload_stream(
                source,
                item.key,
                content_type=item.content_type,
                sha256_b64=sha256_b64(item.sha256),
                on_multipart_created=on_created,
                cancel=token,
                owner=ObjectOwner(item.bot_id, item.account_id),
            )
        except UploadCancelled:
            self.release(worker_id, [item.id])
            return UploadOutcome.RELEASED
        except (SpoolFileDamaged, SpoolUnavailable) as exc:
            if recorded and cleanup is not None and multipart.abort_quietly(cleanup, item.key, recorded[-1]):
                self._set_multipart(item.id, worker_id, None)
            if isinstance(exc, SpoolUnavailable):
                return self._after_error(item, worker_id, spool_unavailable(exc, store.bucket))
            return self._finish_failed(item, worker_id, spool_damaged(item.spool_name, store.bucket))
        except S3OperationError as err:
            if recorded and cleanup is not None:
                if multipart.abort_quietly(cleanup, item.key, recorded[-1]):
                    self._set_multipart(item.id, worker_id, None)
                # A CreateMultipartUpload retried after a lost answer opened one more upload.
                multipart.abort_unrecorded(cleanup, item.key, item.size)
            return self._after_error(item, worker_id, Failure.of(err))
        except OSError as exc:  # the local platform store: disk full, checksum mismatch, ...
            failure = Failure(
                "LocalStoreError",
                "PutObject",
                store.bucket,
                f"Writing {item.key} to the platform store failed ({type(exc).__name__}); meetstore retries.",
                transient=True,
            )
            return self._after_error(item, worker_id, failure)
        # The object is in the bucket: record that even across a short database outage, so a
        # blip does not cost a second upload of the whole file.
        return self._record(lambda: self._finish_uploaded(item, worker_id, store), token)

    def _record(self, write: Callable[[], UploadOutcome], cancel: CancelToken) -> UploadOutcome:
        """Run an outcome write, retrying while the database is unavailable (backing off) for up
        to `max(60 s, 3 x lease_seconds)` or until cancelled; then give up (the row stays pending
        under an expiring lease and is uploaded again later)."""
        deadline = time.monotonic() + max(60.0, 3 * self._settings.lease_seconds)
        delay = 0.2
        while True:
            try:
                return write()
            except Unavailable:
                if time.monotonic() + delay > deadline or cancel.wait(delay):
                    raise
                log.warning("database unavailable recording an upload; retrying in %.1fs", delay)
                delay = min(delay * 2, 5.0)

    def _set_multipart(self, artifact_id: int, worker_id: str, upload_id: str | None) -> bool:
        with self._tx.write() as tx:
            return tx.artifacts.set_multipart(artifact_id, worker_id, upload_id)

    # --- outcomes ---------------------------------------------------------------------------------
    @staticmethod
    def _locked(tx: Transaction, item: ClaimedArtifact, worker_id: str) -> tuple[BotRecord, ArtifactRecord] | None:
        """Lock the bot (serialises "is this the last artifact?") and the artifact, fenced on the lease."""
        bot = tx.bots.locked(item.bot_id)
        row = tx.artifacts.fenced(item.id, worker_id)
        return None if row is None else (bot, row)

    def _write_only_location(self, item: ClaimedArtifact) -> dict[str, Any]:
        """For write_only custom storage, *.processed events say where the file is."""
        pin = item.pin
        if pin is None or pin.kind is not PinKind.CUSTOM:
            return {}
        current = self._locations.current(item.account_id)
        if current is None or not same_bucket(pin, current) or current.access_mode is not AccessMode.WRITE_ONLY:
            return {}
        return {"bucket": pin.bucket, "key": item.key}

    def _finish_uploaded(self, item: ClaimedArtifact, worker_id: str, store: ObjectStore) -> UploadOutcome:
        processed = PROCESSED_EVENT.get(item.kind)
        extra = self._write_only_location(item) if processed else {}
        now = self._clock.now()
        with self._tx.write() as tx:
            locked = self._locked(tx, item, worker_id)
            if locked is None:
                erased = was_erased(tx, item)
            else:
                bot, row = locked
                apply(row, mark_uploaded(progress_of(row), now))
                if processed:
                    emit(tx, bot, processed[0], message=processed[1], extra=extra, now=now)
                mark_done_if_finished(tx, bot, now)
        if locked is None:
            if erased:
                # The bot was erased while this upload ran (its lease ran out before it stopped):
                # the object must not outlive the erasure's receipt.
                undo_upload(store, item)
            return UploadOutcome.LOST
        self._janitor.delete([(item.id, item.bot_id, item.spool_name)])
        log.debug("uploaded %s to %s", item.key, store.bucket)
        return UploadOutcome.UPLOADED

    def _after_error(self, item: ClaimedArtifact, worker_id: str, failure: Failure) -> UploadOutcome:
        attempts = item.attempts + 1
        if not failure.transient:
            return self._finish_failed(item, worker_id, failure)
        if attempts >= self._settings.upload_max_attempts:
            gave_up = Failure(
                failure.code,
                failure.operation,
                failure.bucket,
                f"{failure.message} Gave up after {attempts} attempts.",
                http_status=failure.http_status,
            )
            return self._finish_failed(item, worker_id, gave_up)
        settings = self._settings
        delay = backoff_delay(attempts, settings.upload_backoff_base_s, settings.upload_backoff_max_s)
        now = self._clock.now()
        with self._tx.write() as tx:
            row = tx.artifacts.fenced(item.id, worker_id)
            if row is None:
                return UploadOutcome.LOST
            apply(row, schedule_retry(progress_of(row), failure.error, now + timedelta(seconds=delay)))
        log.info(
            "transient %s uploading %s (attempt %d); retrying in %.2fs", failure.code, item.key, attempts, delay
        )
        return UploadOutcome.RETRY

    def _finish_failed(self, item: ClaimedArtifact, worker_id: str, failure: Failure) -> UploadOutcome:
        now = self._clock.now()
        with self._tx.write() as tx:
            locked = self._locked(tx, item, worker_id)
            if locked is None:
                return UploadOutcome.LOST
            bot, row = locked
            apply(row, mark_failed(progress_of(row), failure.error, now))
            emit(
                tx,
                bot,
                "storage.upload_failed",
                message=failure.message,
                status_code=failure.http_status or 500,
                extra={
                    "s3_error": failure.code,
                    "operation": failure.operation,
                    "bucket": failure.bucket,
                    "key": item.key,
                },
                now=now,
            )
            mark_done_if_finished(tx, bot, now)
        log.warning("upload of %s failed for good: %s on %s", item.key, failure.code, failure.operation)
        return UploadOutcome.FAILED
