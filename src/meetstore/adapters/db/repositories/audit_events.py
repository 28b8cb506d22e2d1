"""Audit entries: append (chained under the account row's lock), page, export, age out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from meetstore.adapters.db.tables import Account, AuditEvent
from meetstore.domain.audit import GENESIS, AuditEntry, ChainedEntry, EncodedEntry, chain

COLUMNS = ("account_id", "at", "action", "actor", "bot_id", "detail", "prev_hash", "hash")


class AuditEvents:
    def __init__(self, s: Session) -> None:
        self._s = s

    def append(self, account_id: str, entries: Sequence[AuditEntry | EncodedEntry]) -> int:
        """Chain `entries` after the account's head and store them; 0 when the account is gone.
        The account row is locked first, so appends for one account never fork the chain."""
        if not entries:
            return 0
        # Columns through the session's connection, not the ORM's Account nor its execution: a busy
        # API process appends several times a second, and the flush holds the event loop's GIL.
        conn = self._s.connection()
        head = conn.execute(
            select(Account.id, Account.audit_head).where(Account.id == account_id).with_for_update()
        ).first()
        if head is None:
            return 0
        linked = chain(head.audit_head or GENESIS, entries)
        self._insert(account_id, linked)
        conn.execute(update(Account).where(Account.id == account_id).values(audit_head=linked[-1].hash))
        return len(linked)

    def _insert(self, account_id: str, linked: Sequence[ChainedEntry]) -> None:
        """Rows without ORM objects: a second's url.issued entries (thousands, written while the
        event loop waits for the GIL) cost ~95 us each through the unit of work, ~35 through a Core
        executemany, and on PostgreSQL ~3 through COPY of the JSON written when each happened."""
        conn = self._s.connection()
        if conn.dialect.name == "postgresql":
            dbapi: Any = conn.connection.driver_connection
            with dbapi.cursor() as cur, cur.copy(f"COPY audit_events ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for e in linked:
                    copy.write_row(
                        (account_id, e.at, e.action, e.actor_json, e.bot_id, e.detail_json, e.prev_hash, e.hash)
                    )
            return
        rows = [(account_id, e.at, e.action, e.actor, e.bot_id, e.detail, e.prev_hash, e.hash) for e in linked]
        self._s.execute(insert(AuditEvent), [dict(zip(COLUMNS, r, strict=True)) for r in rows])

    def page(
        self,
        account_id: str,
        *,
        before_id: int | None,
        limit: int,
        bot_id: str | None = None,
        action: str | None = None,
    ) -> list[AuditEvent]:
        """Newest first, ids below `before_id` (the cursor)."""
        query = select(AuditEvent).where(AuditEvent.account_id == account_id)
        if before_id is not None:
            query = query.where(AuditEvent.id < before_id)
        if bot_id is not None:
            query = query.where(AuditEvent.bot_id == bot_id)
        if action is not None:
            query = query.where(AuditEvent.action == action)
        return list(self._s.scalars(query.order_by(AuditEvent.id.desc()).limit(limit)))

    def since(
        self, account_id: str, since: datetime | None, *, after_id: int = 0, limit: int
    ) -> list[AuditEvent]:
        """Oldest first from `since`, ids above `after_id` (for an export in batches)."""
        query = select(AuditEvent).where(AuditEvent.account_id == account_id, AuditEvent.id > after_id)
        if since is not None:
            query = query.where(AuditEvent.at >= since)
        return list(self._s.scalars(query.order_by(AuditEvent.id).limit(limit)))

    def drop_older_than(self, cutoff: datetime) -> int:
        result = self._s.execute(delete(AuditEvent).where(AuditEvent.at < cutoff))
        return int(getattr(result, "rowcount", 0) or 0)
