"""The upload worker: threads that claim artifacts and upload them, plus a keeper thread.

The same class runs inside an API process (`worker/hooks.upload_worker_hook`) and standalone
(`meetstore worker`). Each upload thread claims one due artifact at a time (a lease), uploads it
and records the outcome. The keeper thread renews the leases of uploads in flight (a slow, big
file is never taken over), cancels an upload whose lease another worker took, and records the
worker's heartbeat (`worker_heartbeats`); a janitor thread deletes spool files whose retention
ended and hands in bots whose runtime died (`sweeper`, e.g. `IngestService.sweep_stale_runtimes`).

Every loop survives a database outage: a failed claim, renewal, heartbeat or janitor pass is
logged and tried again after a pause; no thread ends because the database went away.

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
from meetstore.errors import Unavailable
from meetstore.services.uploads import ClaimedArtifact, UploadOutcome, UploadService

log = logging.getLogger("meetstore.worker.uploads")

JANITOR_MAX_INTERVAL_S = 600.0
OUTAGE_BACKOFF_MAX_S = 5.0


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
    ) -> None:
        self._uploads = uploads
        self._sweeper = sweeper
        self._settings = settings
        self.concurrency = max(1, concurrency)
        self.worker_id = worker_id or new_worker_id()
        self._stopping = threading.Event()
        self._keeper_stop = threading.Event()
        self._lock = threading.Lock()
        self._inflight: dict[int, threading.Event] = {}
        self._threads: list[threading.Thread] = []
        self._keeper: threading.Thread | None = None
        self._janitor_thread: threading.Thread | None = None

    # --- lifecycle --------------------------------------------------------------------------------
    def start(self) -> None:
        if self._threads:
            raise RuntimeError("the upload worker is already running")
        self._stopping.clear()
        self._keeper_stop.clear()
        self._safe_beat()
        self._keeper = threading.Thread(target=self._keep, name=f"{self.worker_id}-keeper", daemon=True)
        self._keeper.start()
        self._janitor_thread = threading.Thread(
            target=self._janitor, name=f"{self.worker_id}-janitor", daemon=True
        )
        self._janitor_thread.start()
        for n in range(self.concurrency):
            t = threading.Thread(target=self._loop, name=f"{self.worker_id}-{n}", daemon=True)
            t.start()
            self._threads.append(t)
        log.info("upload worker %s started (%d threads)", self.worker_id, self.concurrency)

    def stop(self, grace_s: float = 10.0) -> None:
        """Finish uploads in flight within `grace_s`, cancel and release the rest, then stop."""
        self._stopping.set()
        deadline = time.monotonic() + grace_s
        for t in self._threads:
            t.join(timeout=max(0.0, deadline - time.monotonic()))
        if any(t.is_alive() for t in self._threads):
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
        for helper in (self._keeper, self._janitor_thread):
            if helper is not None:
                helper.join(timeout=10.0)
        self._threads = []
        self._keeper = None
        self._janitor_thread = None
        self._safe(lambda: self._uploads.forget_worker(self.worker_id))
        log.info("upload worker %s stopped", self.worker_id)

    def alive(self) -> bool:
        return bool(self._threads) and all(t.is_alive() for t in self._threads)

    @property
    def inflight(self) -> list[int]:
        with self._lock:
            return list(self._inflight)

    # --- for tests and one-shot use -------------------------------------------------------------
    def run_once(self) -> list[UploadOutcome]:
        """Claim what is due now (up to `concurrency` rows) and upload it in this thread."""
        items = self._uploads.claim(self.worker_id, self.concurrency)
        return [self._process(item) for item in items]

    # --- threads ----------------------------------------------------------------------------------
    def _loop(self) -> None:
        idle = self._settings.poll_interval_s
        pause = 0.5
        while not self._stopping.is_set():
            try:
                items = self._uploads.claim(self.worker_id, 1)
            except Unavailable:
                log.warning("database unavailable; claiming again in %.1fs", pause)
                self._stopping.wait(pause)
                pause = min(pause * 2, OUTAGE_BACKOFF_MAX_S)
                continue
            except Exception:
                log.exception("claiming uploads failed")
                self._stopping.wait(max(idle, 1.0))
                continue
            pause = 0.5
            if not items:
                self._stopping.wait(idle)
                continue
            for item in items:
                self._process(item)

    def _process(self, item: ClaimedArtifact) -> UploadOutcome:
        token = threading.Event()
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

    def _keep(self) -> None:
        """Renew leases in flight well before they expire; record the heartbeat."""
        interval = max(0.05, min(self._settings.lease_seconds / 3.0, 5.0))
        while not self._keeper_stop.wait(interval):
            self._renew()
            self._safe_beat()

    def _janitor(self) -> None:
        """Delete spool files whose retention ended, and hand in bots whose runtime went silent
        (its own thread: never delays a renewal)."""
        purge_every = min(
            JANITOR_MAX_INTERVAL_S, max(1.0, self._settings.spool_retention_days * 86400.0 / 10.0)
        )
        sweep_every = max(0.1, min(30.0, self._settings.runtime_stale_after_s / 4.0))
        now = time.monotonic()
        next_purge = now + min(purge_every, 5.0)  # soon after start too: a crash may have left files
        next_sweep = now + min(sweep_every, 5.0)
        while True:
            now = time.monotonic()
            wait = max(0.0, min(next_purge, next_sweep if self._sweeper else next_purge) - now)
            if self._keeper_stop.wait(wait):
                return
            now = time.monotonic()
            if now >= next_purge:
                self._safe(self._uploads.purge_spool)
                next_purge = time.monotonic() + purge_every
            if self._sweeper is not None and now >= next_sweep:
                self._safe(self._sweeper)
                next_sweep = time.monotonic() + sweep_every

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

    def _safe_beat(self) -> None:
        self._safe(lambda: self._uploads.heartbeat(self.worker_id, "upload"))

    @staticmethod
    def _safe(fn: Callable[[], object]) -> None:
        try:
            fn()
        except Unavailable:
            log.warning("upload worker housekeeping skipped: the database is unavailable")
        except Exception:
            log.exception("upload worker housekeeping failed")
