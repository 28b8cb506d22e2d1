"""The audit flusher: buffered url.issued entries written on a supervised loop, and once more
when the process stops (after the API stopped taking requests)."""

from __future__ import annotations

import logging
import threading

from meetstore.services.audit import AuditTrail
from meetstore.worker.loops import SupervisedLoop

log = logging.getLogger("meetstore.audit")


class AuditFlusher:
    def __init__(self, audit: AuditTrail, interval_s: float) -> None:
        self._audit = audit
        self._interval_s = interval_s
        self._halt = threading.Event()
        self._loop = SupervisedLoop("audit-flush", self._flush, interval_s=interval_s, stop=self._halt)

    def _flush(self) -> bool:
        self._audit.wait_until_due(self._interval_s)  # the interval, or sooner once a batch waits
        if not self._halt.is_set() and self._audit.flush(batch=True) is None:
            self._halt.wait(self._interval_s)  # kept for the next try, a whole interval away
        return True  # the waits above are the loop's pause

    def start(self) -> None:
        self._loop.start()

    def stop(self) -> None:
        self._halt.set()
        self._audit.wake()
        self._loop.join(timeout=5)
        self._audit.flush()
        if self._audit.buffered:
            log.error("%d url.issued audit entries could not be written at shutdown", self._audit.buffered)
