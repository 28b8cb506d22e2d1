"""The change watcher: the change feed polled on a supervised loop."""

from __future__ import annotations

import threading
import time

from meetstore.services.changes import ChangeFeed
from meetstore.worker.loops import SupervisedLoop

PRUNE_EVERY_S = 3600.0


class ChangeWatcher:
    def __init__(self, feed: ChangeFeed, interval_s: float) -> None:
        self._feed = feed
        self._halt = threading.Event()
        self._next_prune = time.monotonic() + PRUNE_EVERY_S
        self._loop = SupervisedLoop("change-feed", self._poll, interval_s=interval_s, stop=self._halt)

    def _poll(self) -> bool:
        busy = self._feed.poll() > 0
        if time.monotonic() >= self._next_prune:
            self._next_prune = time.monotonic() + PRUNE_EVERY_S
            self._feed.prune()
        return busy

    def start(self) -> None:
        self._loop.start()

    def stop(self) -> None:
        self._halt.set()
        self._loop.join(timeout=5)
