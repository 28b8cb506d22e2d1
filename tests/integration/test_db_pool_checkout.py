"""Pooled PostgreSQL connections that the server closed are replaced at checkout, with no
round trip before each transaction (no `pool_pre_ping`)."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from meetstore.adapters.db.engine import Database

from conftest import PG_ADMIN_URL, PgSchemas


def _backend_pids(db: Database, n: int) -> list[int]:
    """Check out n pooled connections at once; their server processes' ids."""
    conns = [db.engine.connect() for _ in range(n)]
    try:
        return [int(c.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()) for c in conns]
    finally:
        for c in conns:
            c.close()


def _terminate(pids: list[int]) -> None:
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            for pid in pids:
                assert conn.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar_one()
    finally:
        admin.dispose()


def _statements_sent(db: Database, work: Callable[[], None]) -> list[str]:
    """The queries the pool's one connection sends while `work` runs (libpq's own trace)."""
    with db.engine.connect() as c:
        pgconn = c.connection.dbapi_connection.pgconn  # type: ignore[union-attr]
    with tempfile.TemporaryFile() as trace:
        pgconn.trace(trace.fileno())
        try:
            work()
        finally:
            pgconn.untrace()
        trace.seek(0)
        lines = trace.read().decode().splitlines()
    fields = [line.split("\t") for line in lines]
    return [f[4] for f in fields if len(f) > 4 and f[1] == "F" and f[3] in ("Query", "Parse")]


def test_connections_closed_by_the_server_are_replaced_without_an_error(pg_schemas: PgSchemas) -> None:
    db = Database(pg_schemas.new_url())
    try:
        pids = _backend_pids(db, 3)
        _terminate(pids)
        time.sleep(0.2)  # the server's goodbye reaches the idle sockets
        for _ in range(3):  # every unit of work succeeds: each stale connection is replaced
            with db.read() as s:
                assert s.execute(sa.text("SELECT 1")).scalar_one() == 1
            with db.session() as s:
                assert s.execute(sa.text("SELECT 2")).scalar_one() == 2
        assert not set(_backend_pids(db, 3)) & set(pids)
    finally:
        db.engine.dispose()


def test_a_healthy_checkout_sends_nothing_but_the_work(pg_schemas: PgSchemas) -> None:
    db = Database(pg_schemas.new_url())
    try:
        with db.read() as s:
            s.execute(sa.text("SELECT 1"))

        def work() -> None:
            with db.read() as s:
                s.execute(sa.text("SELECT 41"))

        sent = _statements_sent(db, work)
        assert len(sent) == 1 and "SELECT 41" in sent[0], sent
    finally:
        db.engine.dispose()


@pytest.mark.parametrize("unit", ["read", "session"])
def test_a_server_gone_for_good_is_unavailable_not_a_crash(pg_schemas: PgSchemas, unit: str) -> None:
    from meetstore.errors import Unavailable

    db = Database(pg_schemas.new_url().replace("127.0.0.1:5432", "127.0.0.1:1"))
    try:
        with pytest.raises(Unavailable), getattr(db, unit)() as s:
            s.execute(sa.text("SELECT 1"))
    finally:
        db.engine.dispose()
