"""The one supervised background loop: every periodic thread of meetstore runs on it.

A loop calls its `step` again at once while the step reports more work, and waits `interval_s`
when it reports none. It survives its dependencies: a database outage (`Unavailable`) is one
warning line and a pause that doubles up to `OUTAGE_BACKOFF_MAX_S`; any other error is logged with
its traceback and the loop carries on after a pause. Only `stop` ends it, so no thread of a
worker dies because the database went away for a while.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from meetstore.errors import Unavailable

log = logging.getLogger("meetstore.worker")

OUTAGE_BACKOFF_MIN_S = 0.5
OUTAGE_BACKOFF_MAX_S = 5.0


class SupervisedLoop:
    def __init__(
        self,
        name: str,
        step: Callable[[], bool],
        *,
        interval_s: float,
        stop: threading.Event,
        first_wait_s: float = 0.0,
    ) -> None:
        """`step` returns True when there may be more work right away. `stop` may be shared by
        several loops that end together."""
        self.name = name
        self._step = step
        self._interval_s = max(0.0, interval_s)
        self._stop = stop
        self._first_wait_s = first_wait_s
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        if self._first_wait_s and self._stop.wait(self._first_wait_s):
            return
        pause = OUTAGE_BACKOFF_MIN_S
        while not self._stop.is_set():
            try:
                busy = self._step()
            except Unavailable:
                log.warning("%s: the database is unavailable; trying again in %.1fs", self.name, pause)
                if self._stop.wait(pause):
                    return
                pause = min(pause * 2, OUTAGE_BACKOFF_MAX_S)
                continue
            except Exception:
                log.exception("%s failed; trying again shortly", self.name)
                if self._stop.wait(max(self._interval_s, 1.0)):
                    return
                continue
            pause = OUTAGE_BACKOFF_MIN_S
            if not busy and self._stop.wait(self._interval_s):
                return
