"""The simulated recordings of a worker process: queued simulated bots claimed like outbox rows.

Every `poll` the loop claims as many Joining simulated bots as the process has room for
(`simulated_recordings_per_worker`); each records in a thread of the simulated runtime. Media is
encoded here, in a worker, never in an API process.
"""

from __future__ import annotations

import threading
from typing import Protocol

from meetstore.worker.loops import SupervisedLoop


class Simulator(Protocol):
    def take_queued(self) -> bool: ...

    def stop(self, timeout_s: float = 10.0) -> None: ...


class SimulationWorker:
    def __init__(self, runtime: Simulator, poll_s: float, grace_s: float = 10.0) -> None:
        self._runtime = runtime
        self._grace_s = grace_s
        self._halt = threading.Event()
        self._loop = SupervisedLoop("simulated-recordings", runtime.take_queued, interval_s=poll_s, stop=self._halt)

    def start(self) -> None:
        self._loop.start()

    def alive(self) -> bool:
        return self._loop.alive()

    def stop(self) -> None:
        """Claim no more bots and stop the recordings running here. A meeting cut short this way
        is not handed in by this process: its bot's runtime falls silent and the janitor of any
        worker hands its spool in."""
        self._halt.set()
        self._loop.join(timeout=5)
        self._runtime.stop(self._grace_s)
