"""Writing the audit trail (API.md "Audit trail").

Actions that change something are recorded in the transaction that makes the change (`record`),
so an entry exists exactly when the change does. `url.issued` is different: it happens on the
fetch path, which must not wait for a database write, so it goes to an in-memory buffer that a
background thread flushes every `audit_flush_s`, or as soon as `audit_flush_batch` entries are
waiting (and at shutdown). A process killed outright loses at most that much of it; a flush that
fails keeps the entries for the next one. Batches stay small because the flush shares the GIL with
the event loop: each batch is a pause for every request in flight (docs/performance.md).

Who acted comes from `ACTOR`, which the API's authentication sets for the request; work the
platform does itself (a retention sweep, the command line) has `SYSTEM` as its actor.
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict, deque
from collections.abc import Mapping
from contextvars import ContextVar
from datetime import datetime
from typing import Any

from meetstore.domain.audit import SYSTEM, Actor, AuditEntry, EncodedEntry, encode
from meetstore.domain.clock import SystemClock
from meetstore.domain.repositories import Transaction, Transactions
from meetstore.errors import Unavailable

log = logging.getLogger("meetstore.audit")

ACTOR: ContextVar[Actor] = ContextVar("meetstore_audit_actor", default=SYSTEM)
"""The actor of the request being served (set by the API's authentication)."""

MAX_BUFFERED = 200_000
"""url.issued entries kept while the database is down; beyond it the oldest are dropped (logged)."""
FLUSH_BATCH = 256
"""How many buffered url.issued entries make a flush due before its interval is up."""


def entry(
    action: str,
    at: datetime,
    *,
    bot_id: str | None = None,
    detail: Mapping[str, Any] | None = None,
    actor: Actor | None = None,
) -> AuditEntry:
    return AuditEntry(
        at=at, action=action, actor=actor or ACTOR.get(), bot_id=bot_id, detail=dict(detail or {})
    )


class AuditTrail:
    def __init__(self, tx: Transactions, clock: SystemClock | None = None, *, flush_batch: int = FLUSH_BATCH) -> None:
        self._tx = tx
        self._clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._buffer: deque[tuple[str, EncodedEntry]] = deque()
        self._dropped = 0
        self._flush_batch = max(1, flush_batch)
        self._due = threading.Event()

    # --- in the caller's transaction ---------------------------------------------------------------
    def record(
        self,
        tx: Transaction,
        account_id: str,
        action: str,
        *,
        bot_id: str | None = None,
        detail: Mapping[str, Any] | None = None,
        actor: Actor | None = None,
    ) -> None:
        """`actor`: who acted when it is not the request being served (work done later for them)."""
        tx.audit.append(
            account_id, [entry(action, self._clock.now(), bot_id=bot_id, detail=detail, actor=actor)]
        )

    def record_now(
        self,
        account_id: str,
        action: str,
        *,
        bot_id: str | None = None,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """In a transaction of its own (for outcomes that are not a change, e.g. a failed check)."""
        with self._tx.write() as tx:
            self.record(tx, account_id, action, bot_id=bot_id, detail=detail)

    # --- buffered ------------------------------------------------------------------------------------
    def url_issued(
        self,
        account_id: str,
        bot_id: str,
        endpoint: str,
        expires_at: str,
        *,
        key: str | None = None,
        collection: str | None = None,
        count: int | None = None,
    ) -> None:
        """A presigned URL (or a page of them) was handed out: buffered, no I/O."""
        detail: dict[str, Any] = {"endpoint": endpoint, "expires_at": expires_at}
        if key is not None:
            detail["key"] = key
        if collection is not None:
            detail["collection"] = collection
        if count is not None:
            detail["count"] = count
        item = (account_id, encode(entry("url.issued", self._clock.now(), bot_id=bot_id, detail=detail)))
        with self._lock:
            self._buffer.append(item)
            if len(self._buffer) > MAX_BUFFERED:
                self._buffer.popleft()
                self._dropped += 1
            due = len(self._buffer) >= self._flush_batch
        if due:
            self._due.set()

    def wait_until_due(self, timeout_s: float) -> None:
        """Until a batch of url.issued entries is buffered, `wake` is called, or `timeout_s`."""
        if self.buffered < self._flush_batch:
            self._due.wait(timeout_s)
        self._due.clear()

    def wake(self) -> None:
        self._due.set()

    def flush(self, *, batch: bool = False) -> int | None:
        """Write what is buffered (`batch`: at most one batch of it, the oldest), in one
        transaction: how many entries; None when it failed and kept them for the next."""
        with self._lock:
            if batch and len(self._buffer) > self._flush_batch:
                items = [self._buffer.popleft() for _ in range(self._flush_batch)]
            else:
                items = list(self._buffer)
                self._buffer.clear()
            dropped, self._dropped = self._dropped, 0
        if dropped:
            log.error(
                "audit buffer overflowed while the database was unreachable: %d url.issued entries lost",
                dropped,
            )
        if not items:
            return 0
        by_account: dict[str, list[EncodedEntry]] = defaultdict(list)
        for account_id, e in items:
            by_account[account_id].append(e)
        try:
            with self._tx.write() as tx:
                for account_id in sorted(by_account):  # one lock order: no deadlock between flushers
                    tx.audit.append(account_id, by_account[account_id])
        except Exception as exc:
            if not isinstance(exc, Unavailable):
                log.warning(
                    "audit flush failed (%s); the entries are kept for the next flush", type(exc).__name__
                )
            with self._lock:
                self._buffer.extendleft(reversed(items))
            return None
        return len(items)

    @property
    def buffered(self) -> int:
        with self._lock:
            return len(self._buffer)
