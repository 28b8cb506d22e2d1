"""The lifecycle worker: erasures claimed from their outbox, and the retention sweep.

Runs in `meetstore worker` and in an API process that runs workers. One loop claims and does
erasures one at a time (a lease each; a dead worker's erasure is taken over when its lease
runs out); another looks every `retention_sweep_s` for bots whose retention ended and queues
their erasure, and drops audit entries past their own retention (hourly).
"""

from __future__ import annotations

import logging
import threading
import time

from meetstore.config import Settings
from meetstore.services.audit_views import AuditViews
from meetstore.services.erasure import ErasureService
from meetstore.services.erasure_work import ErasureWork
from meetstore.worker.loops import SupervisedLoop
from meetstore.worker.uploads import new_worker_id

log = logging.getLogger("meetstore.worker.lifecycle")
AUDIT_PRUNE_EVERY_S = 3600.0


class LifecycleWorker:
    def __init__(
        self, work: ErasureWork, erasures: ErasureService, audit: AuditViews, settings: Settings
    ) -> None:
        self._audit = audit
        self._next_audit_prune = 0.0
        self._work = work
        self._erasures = erasures
        self.worker_id = new_worker_id("lifecycle")
        self._halt = threading.Event()
        self._held: list[int] = []
        self._loops = [
            SupervisedLoop(
                f"{self.worker_id}-erase",
                self._erase_one,
                interval_s=settings.poll_interval_s,
                stop=self._halt,
            ),
            SupervisedLoop(
                f"{self.worker_id}-retention",
                self._sweep,
                interval_s=settings.retention_sweep_s,
                stop=self._halt,
                first_wait_s=min(settings.retention_sweep_s, 5.0),
            ),
        ]

    def start(self) -> None:
        for loop in self._loops:
            loop.start()

    def alive(self) -> bool:
        return all(loop.alive() for loop in self._loops)

    def stop(self) -> None:
        self._halt.set()
        for loop in self._loops:
            loop.join(timeout=30)
        if self._held:  # stopped mid-erasure: give it back, so another worker need not wait
            try:
                self._work.release(self.worker_id, list(self._held))
            except Exception as exc:
                log.warning("releasing an erasure failed: %s", type(exc).__name__)

    def _erase_one(self) -> bool:
        items = self._work.claim(self.worker_id, 1)
        for item in items:
            self._held = [item.id]
            try:
                self._work.process(item, self.worker_id)
            finally:
                self._held = []
        return bool(items)

    def _sweep(self) -> bool:
        self._erasures.expire_due()
        if time.monotonic() >= self._next_audit_prune:
            self._next_audit_prune = time.monotonic() + AUDIT_PRUNE_EVERY_S
            dropped = self._audit.expire()
            if dropped:
                log.info("dropped %d audit entries past their retention", dropped)
        return False
