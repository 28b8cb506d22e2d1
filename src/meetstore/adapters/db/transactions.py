"""The Transactions port over SQLAlchemy: one session per unit of work, every repository on it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property

from sqlalchemy.orm import Session

from meetstore.adapters.db.engine import Database
from meetstore.adapters.db.repositories.accounts import Accounts
from meetstore.adapters.db.repositories.artifacts import Artifacts
from meetstore.adapters.db.repositories.audit_events import AuditEvents
from meetstore.adapters.db.repositories.bots import Bots
from meetstore.adapters.db.repositories.changes import Changes
from meetstore.adapters.db.repositories.console_sessions import ConsoleSessions
from meetstore.adapters.db.repositories.erasures import Erasures
from meetstore.adapters.db.repositories.heartbeats import Heartbeats
from meetstore.adapters.db.repositories.spool_keys import SpoolKeys
from meetstore.adapters.db.repositories.storage_configs import StorageConfigs
from meetstore.adapters.db.repositories.webhook_events import WebhookEvents
from meetstore.domain.repositories import (
    Transaction,
)


class SqlTransaction:
    """Repositories are built on first use: most transactions touch one or two."""

    def __init__(self, session: Session, *, postgres: bool) -> None:
        self._s = session
        self._postgres = postgres

    @cached_property
    def accounts(self) -> Accounts:
        return Accounts(self._s)

    @cached_property
    def storage_configs(self) -> StorageConfigs:
        return StorageConfigs(self._s)

    @cached_property
    def bots(self) -> Bots:
        return Bots(self._s)

    @cached_property
    def artifacts(self) -> Artifacts:
        return Artifacts(self._s, postgres=self._postgres)

    @cached_property
    def webhook_events(self) -> WebhookEvents:
        return WebhookEvents(self._s, postgres=self._postgres)

    @cached_property
    def erasures(self) -> Erasures:
        return Erasures(self._s, postgres=self._postgres)

    @cached_property
    def audit(self) -> AuditEvents:
        return AuditEvents(self._s)

    @cached_property
    def heartbeats(self) -> Heartbeats:
        return Heartbeats(self._s)

    @cached_property
    def changes(self) -> Changes:
        return Changes(self._s)

    @cached_property
    def console_sessions(self) -> ConsoleSessions:
        return ConsoleSessions(self._s)

    @cached_property
    def spool_keys(self) -> SpoolKeys:
        return SpoolKeys(self._s)

    def flush(self) -> None:
        self._s.flush()


class SqlTransactions:
    def __init__(self, db: Database) -> None:
        self._db = db

    @contextmanager
    def write(self) -> Iterator[Transaction]:
        with self._db.session() as s:
            yield SqlTransaction(s, postgres=self._db.is_postgres)

    @contextmanager
    def read(self) -> Iterator[Transaction]:
        with self._db.read() as s:
            yield SqlTransaction(s, postgres=self._db.is_postgres)

    def scrub(self) -> None:
        self._db.scrub()


def _conforms(t: SqlTransaction) -> Transaction:
    """mypy checks here that the SQL transaction is every repository port."""
    return t
