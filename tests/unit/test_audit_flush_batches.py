"""url.issued entries are written in small batches (services/audit.py): a batch buffered makes a
flush due before its interval is up, a flush writes the oldest batch, a failed one keeps its
entries in order, and the flusher catches up batch by batch and writes the rest when it stops."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from meetstore.domain.audit import GENESIS, ChainedEntry, chain_breaks
from meetstore.errors import Unavailable
from meetstore.services.audit import AuditTrail
from meetstore.worker.audit import AuditFlusher

from memory import Account, Database, Transaction, Transactions

ACCOUNT = "acct-1"


def issued(trail: AuditTrail, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        trail.url_issued(ACCOUNT, f"bot-{i}", "get_audio", "2026-12-04T20:00:00Z", key=f"k/{i}")


def written(db: Database) -> list[str]:
    return [row.bot_id or "" for row in db.audit]


def stored_chain(db: Database) -> list[ChainedEntry]:
    return [ChainedEntry(r.at, r.action, r.actor, r.bot_id, r.detail, r.prev_hash, r.hash) for r in db.audit]


class Flaky(Transactions):
    """The Transactions port whose writes fail while `down` is set (a database outage)."""

    down = False

    @contextmanager
    def write(self) -> Iterator[Transaction]:
        if self.down:
            raise Unavailable("the database is unavailable")
        with super().write() as tx:
            yield tx


def world(batch: int) -> tuple[Database, Flaky, AuditTrail]:
    db = Database()
    db.accounts[ACCOUNT] = Account(ACCOUNT, external_id="ext")
    tx = Flaky(db)
    return db, tx, AuditTrail(tx, flush_batch=batch)


def test_a_flush_writes_the_oldest_batch_and_a_failed_one_keeps_it_in_order() -> None:
    db, tx, trail = world(batch=4)
    issued(trail, 10)
    started = time.monotonic()
    trail.wait_until_due(60)  # a batch is waiting: no wait at all
    assert time.monotonic() - started < 30
    assert trail.flush(batch=True) == 4 and written(db) == [f"bot-{i}" for i in range(4)]
    tx.down = True
    assert trail.flush(batch=True) is None and trail.buffered == 6
    tx.down = False
    assert trail.flush() == 6
    assert written(db) == [f"bot-{i}" for i in range(10)]
    rows = stored_chain(db)
    assert rows[0].prev_hash == GENESIS and chain_breaks(rows) == []
    assert [r.detail for r in rows[:2]] == [
        {"endpoint": "get_audio", "expires_at": "2026-12-04T20:00:00Z", "key": f"k/{i}"} for i in range(2)
    ]


def test_the_flusher_writes_a_batch_before_its_interval_and_the_rest_when_it_stops() -> None:
    db, _tx, trail = world(batch=5)
    flusher = AuditFlusher(trail, interval_s=60)
    flusher.start()
    try:
        issued(trail, 12)  # two batches due now; two entries wait for the interval
        deadline = time.monotonic() + 20
        while len(db.audit) < 10 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert written(db) == [f"bot-{i}" for i in range(10)] and trail.buffered == 2
    finally:
        flusher.stop()
    assert written(db) == [f"bot-{i}" for i in range(12)] and trail.buffered == 0
    assert chain_breaks(stored_chain(db)) == []
