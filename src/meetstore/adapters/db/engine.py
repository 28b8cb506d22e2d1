"""Engines and sessions: SQLite (WAL, one writer at a time) or PostgreSQL, one code path."""

from __future__ import annotations

import select
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from meetstore.errors import Unavailable

CONNECT_TIMEOUT_S = 5
POOL_TIMEOUT_S = 10.0
UNAVAILABLE_MESSAGE = "The database is unavailable; try again shortly."
READ_ONLY_OPTION = "meetstore_read_only"
"""Execution option of `Database.read()` connections (SQLite: BEGIN instead of BEGIN IMMEDIATE)."""


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=8,
            max_overflow=16,
        )

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # Take transactions into our own hands: pysqlite's implicit BEGIN is deferred, and a
            # deferred reader that later writes fails at once in WAL mode instead of waiting.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            # Deleted and overwritten content (erased credentials) is zeroed in the pages, not
            # left in free space for anyone reading the file.
            cur.execute("PRAGMA secure_delete=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            # Database.read(): a deferred transaction, which never takes the write lock (WAL).
            read_only = conn.get_execution_options().get(READ_ONLY_OPTION, False)
            conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        return engine
    engine = create_engine(
        url,
        # Up to 30 connections, all of them kept once opened: with overflow connections, an API
        # process whose pool threads keep more than `pool_size` busy opens and closes a connection
        # for nearly every request.
        pool_size=30,
        max_overflow=0,
        pool_recycle=1800,
        pool_timeout=POOL_TIMEOUT_S,
        # A server that does not answer (down, firewalled) fails a connect in seconds, not minutes.
        connect_args={"connect_timeout": CONNECT_TIMEOUT_S},
    )
    event.listen(engine, "checkout", _refuse_if_closed_by_server)
    return engine


def _refuse_if_closed_by_server(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
    """Instead of `pool_pre_ping` (a round trip before every transaction; docs/performance.md
    has what it cost): a pooled connection is idle, so the server has nothing to say on it
    unless it has closed it (a restart, an idle timeout, a terminated backend), and then its
    socket is readable. Such a connection is refused here without a round trip; SQLAlchemy's pool
    then opens a fresh one in its place (DisconnectionError in a checkout handler, documented).
    A connection lost without a word (a network cut) fails its first statement instead: that
    unit of work is Unavailable (503, or retried by a worker), and the pool drops every
    connection older than the failure."""
    poller = select.poll()
    poller.register(dbapi_conn.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
    if poller.poll(0):
        raise DisconnectionError("the server closed this pooled connection")


class Database:
    """The engine and its session factory. One per process, owned by the app container."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # Reads: on PostgreSQL in autocommit (no BEGIN/COMMIT round trips; every statement sees
        # its own snapshot, as it does in a READ COMMITTED transaction); on SQLite a deferred BEGIN.
        options: dict[str, Any] = {READ_ONLY_OPTION: True}
        if self.engine.dialect.name == "postgresql":
            options["isolation_level"] = "AUTOCOMMIT"
        self._read_engine = self.engine.execution_options(**options)
        self._read_sessions = sessionmaker(self._read_engine, expire_on_commit=False)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed on success, rolled back on error. DB outages → Unavailable."""
        with self._unit(self._sessions()) as session:
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A unit of work that only reads (never write through it): cheaper than `session()`, the
        same errors. PostgreSQL: autocommit statements; SQLite: a deferred (shared) transaction."""
        with self._unit(self._read_sessions()) as session:
            yield session

    @contextmanager
    def read_connection(self) -> Iterator[Connection]:
        """Like `read()`, one level down: a Core connection, for hot paths that select columns
        (no ORM identity map or unit of work to set up and tear down)."""
        try:
            with self._read_engine.connect() as conn:
                yield conn
        except (OperationalError, DBAPIError) as exc:
            if isinstance(exc, OperationalError) or exc.connection_invalidated:
                raise Unavailable(UNAVAILABLE_MESSAGE) from exc
            raise
        except PoolTimeout as exc:
            raise Unavailable(UNAVAILABLE_MESSAGE) from exc

    @contextmanager
    def _unit(self, session: Session) -> Iterator[Session]:
        try:
            yield session
            session.commit()
        except (OperationalError, DBAPIError) as exc:
            _rollback_quietly(session)
            if isinstance(exc, OperationalError) or exc.connection_invalidated:
                raise Unavailable(UNAVAILABLE_MESSAGE) from exc
            raise
        except PoolTimeout as exc:  # every pooled connection is stuck (the server hangs)
            _rollback_quietly(session)
            raise Unavailable(UNAVAILABLE_MESSAGE) from exc
        except BaseException:
            _rollback_quietly(session)
            raise
        finally:
            with suppress(OperationalError, DBAPIError):  # a dead connection: the pool drops it
                session.close()

    def scrub(self) -> None:
        """Make what committed transactions erased unrecoverable from the database files.

        SQLite keeps earlier versions of pages in the WAL until a checkpoint; a TRUNCATE
        checkpoint copies the current pages (erased content already zeroed: secure_delete) into
        the database file and empties the WAL. It waits for readers of older snapshots to finish.
        PostgreSQL keeps dead row versions until VACUUM, which is the operator's (docs/security.md).
        """
        if self.is_postgres:
            return
        raw = self.engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            busy = cur.fetchone()
            cur.close()
        finally:
            raw.close()
        if busy and busy[0]:
            raise Unavailable("The database is busy; the erased data is removed at the next checkpoint.")

    def ping(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
                conn.rollback()
            return True
        except Exception:
            return False

    def dispose(self) -> None:
        self.engine.dispose()


def _rollback_quietly(session: Session) -> None:
    """Roll back; on a dead connection that can fail too, which must not hide the first error."""
    with suppress(OperationalError, DBAPIError):
        session.rollback()
