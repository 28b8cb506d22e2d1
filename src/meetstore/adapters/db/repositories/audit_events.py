"""Audit entries: append (chained under the account row's lock), page, export, age out."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from meetstore.adapters.db.tables import Account, AuditEvent
from meetstore.domain.audit import GENESIS, AuditEntry, EncodedEntry, encoded, links

COLUMNS = ("account_id", "at", "action", "actor", "bot_id", "detail", "prev_hash", "hash")
_COPY = f"COPY audit_events ({', '.join(COLUMNS)}) FROM STDIN"
_COPY_SPECIAL = re.compile(r"[\\\t\n\r]")
_COPY_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"}


def copy_text(value: str | None) -> str:
    """A value in COPY's text format: NULL as \\N; backslash, tab, newline and return escaped."""
    if value is None:
        return "\\N"
    if _COPY_SPECIAL.search(value) is None:
        return value
    return _COPY_SPECIAL.sub(lambda m: _COPY_ESCAPES[m.group()], value)


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
        items = encoded(entries)
        prev = head.audit_head or GENESIS
        hashes = links(prev, items)
        self._insert(account_id, items, [prev, *hashes], hashes)
        conn.execute(update(Account).where(Account.id == account_id).values(audit_head=hashes[-1]))
        return len(items)

    def _insert(
        self, account_id: str, items: Sequence[EncodedEntry], prevs: Sequence[str], hashes: Sequence[str]
    ) -> None:
        """Rows without ORM objects: a second's url.issued entries (thousands, written while the
        event loop waits for the GIL) cost ~95 us each through the unit of work, ~35 through a Core
        executemany, and on PostgreSQL ~1 as lines of one COPY, around the JSON written when each
        happened (COPY's text format needs only its escapes; the JSON is ASCII)."""
        conn = self._s.connection()
        if conn.dialect.name == "postgresql":
            account = copy_text(account_id)
            lines = [
                f"{account}\t{e.entry.at.isoformat()}\t{copy_text(e.entry.action)}\t{copy_text(e.actor_json)}\t"
                f"{copy_text(e.entry.bot_id)}\t{copy_text(e.detail_json)}\t{prev}\t{h}\n"
                for e, prev, h in zip(items, prevs, hashes, strict=False)
            ]
            dbapi: Any = conn.connection.driver_connection
            with dbapi.cursor() as cur, cur.copy(_COPY) as copy:
                copy.write("".join(lines))
            return
        rows = [
            (account_id, e.entry.at, e.entry.action, e.entry.actor.as_dict(), e.entry.bot_id, dict(e.entry.detail), prev, h)
            for e, prev, h in zip(items, prevs, hashes, strict=False)
        ]
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
