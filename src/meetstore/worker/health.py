"""The health monitor: every storage configuration re-validated each `health_interval_s`."""

from __future__ import annotations

import threading

from meetstore.services.health import StorageHealth
from meetstore.worker.loops import SupervisedLoop


class HealthMonitor:
    def __init__(self, health: StorageHealth, interval_s: float) -> None:
        self._health = health
        self._halt = threading.Event()
        self._loop = SupervisedLoop(
            "storage-health", self._check_all, interval_s=interval_s, stop=self._halt, first_wait_s=interval_s
        )

    def _check_all(self) -> bool:
        self._health.check_all()
        return False

    def start(self) -> None:
        self._loop.start()

    def stop(self) -> None:
        self._halt.set()
        self._loop.join(timeout=5)
