"""The upload worker: threads that claim artifacts and upload them, plus a keeper thread.

The same class runs inside an API process and standalone (`meetstore worker`), assembled by
`background.upload_loops` for both. Each upload thread claims one due artifact at a time (a lease), uploads it
and records the outcome. The keeper thread renews the leases of uploads in flight (a slow, big
file is never taken over), cancels an upload whose lease another worker took, and records the
worker's heartbeat (`worker_heartbeats`); a janitor thread deletes spool files whose retention
ended, and a sweeper hands in bots whose runtime died (`sweeper`, e.g.
`IngestService.sweep_stale_runtimes`).

Every thread is a `worker.loops.SupervisedLoop`: a failed claim, renewal, heartbeat or janitor
pass is logged and tried again after a pause; no thread ends because the database went away.

`stop()` is graceful: uploads in flight get `grace_s` to finish; what is still running then is
cancelled (the TransferManager aborts its multipart upload) and its lease is released at once.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable

from meetstore.config import Settings
from meetstore.domain.cancel import CancelToken
from meetstore.errors import Unavailable
from meetstore.services.upload_items import ClaimedArtifact, UploadOutcome
from meetstore.services.uploads import UploadService
from meetstore.worker.loops import SupervisedLoop

log = logging.getLogger("meetstore.worker.uploads")

JANITOR_MAX_INTERVAL_S = 600.0


def new_worker_id(kind: str = "upload") -> str:
    host = socket.gethostname().split(".")[0][:24]
    return f"{kind}-{host}-{os.getpid()}-{secrets.token_hex(4)}"


class UploadWorker:
    def __init__(
        self,
        uploads: UploadService,
        settings: Settings,
        concurrency: int,
        *,
        worker_id: str | None = None,
        sweeper: Callable[[], object] | None = None,
        janitor: Callable[[], object] | None = None,
    ) -> None:
        self._uploads = uploads
        self._sweeper = sweeper
        self._janitor = janitor
        self._settings = settings
        self.concurrency = max(1, concurrency)
        self.worker_id = worker_id or new_worker_id()
        self._stopping = threading.Event()
        self._keeper_stop = threading.Event()
        self._lock = threading.Lock()
        self._inflight: dict[int, CancelToken] = {}
        self._threads: list[SupervisedLoop] = []
        self._helpers: list[SupervisedLoop] = []

    # --- lifecycle --------------------------------------------------------------------------------
    def start(self) -> None:
        if self._threads:
            raise RuntimeError("the upload worker is already running")
        self._stopping.clear()
        self._keeper_stop.clear()
        self._safe(self._beat)
        settings = self._settings
        purge_every = min(JANITOR_MAX_INTERVAL_S, max(1.0, settings.spool_retention_days * 86400.0 / 10.0))
        sweep_every = max(0.1, min(30.0, settings.runtime_stale_after_s / 4.0))

        def helper(name: str, step: Callable[[], bool], every: float, first: float) -> SupervisedLoop:
            return SupervisedLoop(
                f"{self.worker_id}-{name}", step, interval_s=every, stop=self._keeper_stop, first_wait_s=first
            )

        # Renewals run on a thread of their own: a slow janitor pass never delays one.
        keep_every = max(0.05, min(settings.lease_seconds / 3.0, 5.0))
        self._helpers = [helper("keeper", self._keep, keep_every, keep_every)]
        if self._janitor is not None:  # soon after start too: a crash may have left spool files behind
            self._helpers.append(helper("janitor", self._purge, purge_every, min(purge_every, 5.0)))
        if self._sweeper is not None:
            self._helpers.append(helper("sweeper", self._sweep, sweep_every, min(sweep_every, 5.0)))
        self._threads = [
            SupervisedLoop(
                f"{self.worker_id}-{n}", self._upload_one, interval_s=settings.poll_interval_s, stop=self._stopping
            )
            for n in range(self.concurrency)
        ]
        for loop in [*self._helpers, *self._threads]:
            loop.start()
        log.info("upload worker %s started (%d threads)", self.worker_id, self.concurrency)

    def stop(self, grace_s: float = 10.0) -> None:
        """Finish uploads in flight within `grace_s`, cancel and release the rest, then stop."""
        self._stopping.set()
        deadline = time.monotonic() + grace_s
        for t in self._threads:
            t.join(timeout=max(0.0, deadline - time.monotonic()))
        if any(t.alive() for t in self._threads):
            with self._lock:
                tokens = list(self._inflight.values())
            for token in tokens:
                token.set()
            for t in self._threads:
                t.join(timeout=30.0)
        with self._lock:
            leftover = list(self._inflight)
        if leftover:
            self._safe(lambda: self._uploads.release(self.worker_id, leftover))
        self._keeper_stop.set()
        for helper in self._helpers:
            helper.join(timeout=10.0)
        self._threads = []
        self._helpers = []
        self._safe(lambda: self._uploads.forget_worker(self.worker_id))
        log.info("upload worker %s stopped", self.worker_id)

    def alive(self) -> bool:
        return bool(self._threads) and all(t.alive() for t in [*self._threads, *self._helpers])

    @property
    def inflight(self) -> list[int]:
        with self._lock:
            return list(self._inflight)

    # --- for tests and one-shot use -------------------------------------------------------------
    def run_once(self) -> list[UploadOutcome]:
        """Claim what is due now (up to `concurrency` rows) and upload it in this thread."""
        items = self._uploads.claim(self.worker_id, self.concurrency)
        return [self._process(item) for item in items]

    # --- loop steps -------------------------------------------------------------------------------
    def _upload_one(self) -> bool:
        items = self._uploads.claim(self.worker_id, 1)
        for item in items:
            self._process(item)
        return bool(items)

    def _process(self, item: ClaimedArtifact) -> UploadOutcome:
        token = CancelToken()
        with self._lock:
            if item.id in self._inflight:
                # Its lease lapsed while the database was away and this worker claimed it again:
                # the thread already uploading it carries on (same lease owner, renewed again).
                log.info("artifact %d is already being uploaded by this worker", item.id)
                return UploadOutcome.LOST
            self._inflight[item.id] = token
        try:
            return self._uploads.process(item, self.worker_id, token)
        except Unavailable:
            # The database went away and did not come back within the lease: the lease expires
            # and the row is claimed again once it is back.
            log.warning("database unavailable while uploading artifact %d; it will be retried", item.id)
            return UploadOutcome.LOST
        except Exception:
            # The database went away mid-way, or a bug: the lease expires and the row is retried.
            log.exception("uploading artifact %d failed unexpectedly", item.id)
            return UploadOutcome.LOST
        finally:
            with self._lock:
                self._inflight.pop(item.id, None)

    def _keep(self) -> bool:
        """Renew leases in flight well before they expire; record the heartbeat."""
        self._renew()
        self._beat()
        return False

    def _purge(self) -> bool:
        assert self._janitor is not None
        self._janitor()
        return False

    def _sweep(self) -> bool:
        assert self._sweeper is not None
        self._sweeper()
        return False

    def _beat(self) -> None:
        self._uploads.heartbeat(self.worker_id, "upload")

    def _renew(self) -> None:
        with self._lock:
            held = dict(self._inflight)
        if not held:
            return
        try:
            still = self._uploads.renew(self.worker_id, list(held))
        except Unavailable:
            log.warning("database unavailable; upload leases not renewed")
            return
        except Exception:
            log.exception("renewing upload leases failed")
            return
        for artifact_id, token in held.items():
            if artifact_id not in still:
                log.warning("lost the lease of artifact %d; cancelling its upload", artifact_id)
                token.set()

    @staticmethod
    def _safe(fn: Callable[[], object]) -> None:
        try:
            fn()
        except Unavailable:
            log.warning("upload worker housekeeping skipped: the database is unavailable")
        except Exception:
            log.exception("upload worker housekeeping failed")
