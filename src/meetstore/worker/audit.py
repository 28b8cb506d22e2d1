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
        self._halt = threading.Event()
        self._loop = SupervisedLoop("audit-flush", self._flush, interval_s=interval_s, stop=self._halt)

    def _flush(self) -> bool:
        self._audit.flush()
        return False  # one write per interval: the entries of a busy second go together

    def start(self) -> None:
        self._loop.start()

    def stop(self) -> None:
        self._halt.set()
        self._loop.join(timeout=5)
        self._audit.flush()
        if self._audit.buffered:
            log.error("%d url.issued audit entries could not be written at shutdown", self._audit.buffered)
