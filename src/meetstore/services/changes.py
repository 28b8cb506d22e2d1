"""The change feed: how every process learns, within a second, that an account's API key was
revoked or rotated, its storage configuration replaced or deleted, or one of its bots erased.

The change is recorded in the transaction that makes it (`tx.changes.record`); each process polls
the feed (one indexed read of the rows after the last it saw) every `change_poll_s` and tells its
listeners: the key cache drops the account's keys, the client cache its clients, and uploads in
flight with the old credentials stop (they are uploaded again with what is configured now).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta

from meetstore.domain.clock import SystemClock
from meetstore.domain.repositories import Transactions

log = logging.getLogger("meetstore.changes")

API_KEY = "api_key"
STORAGE = "storage"
ERASURE = "erasure"
"""A bot of the account is being erased: caches of its finished files must go."""
BATCH = 500
KEEP = timedelta(days=1)
"""Rows older than this are pruned: every process polls far more often."""

Listener = Callable[[str], None]


class ChangeFeed:
    def __init__(self, tx: Transactions, clock: SystemClock | None = None) -> None:
        self._tx = tx
        self._clock = clock or SystemClock()
        self._listeners: dict[str, list[Listener]] = {API_KEY: [], STORAGE: [], ERASURE: []}
        self._lock = threading.Lock()
        self._seen: int | None = None

    def subscribe(self, what: str, listener: Listener) -> None:
        self._listeners[what].append(listener)

    def poll(self) -> int:
        """Tell the listeners of every change since the last poll; the number of changes."""
        with self._lock:
            with self._tx.read() as tx:
                if self._seen is None:  # the first poll only finds where the feed stands
                    self._seen = tx.changes.latest()
                    return 0
                rows = tx.changes.since(self._seen, BATCH)
            for change_id, account_id, what in rows:
                for listener in self._listeners.get(what, []):
                    try:
                        listener(account_id)
                    except Exception as exc:  # one listener's failure must not hide a change from the others
                        log.warning("a %s change listener failed: %s", what, type(exc).__name__)
                self._seen = change_id
            return len(rows)

    def prune(self) -> int:
        with self._tx.write() as tx:
            return tx.changes.prune(self._clock.now() - KEEP)
