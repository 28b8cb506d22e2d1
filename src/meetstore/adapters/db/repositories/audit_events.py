"""Audit entries: append (chained under the account row's lock), page, export, age out."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from meetstore.adapters.db.tables import Account, AuditEvent
from meetstore.domain.audit import GENESIS, AuditEntry, chain


class AuditEvents:
    def __init__(self, s: Session) -> None:
        self._s = s

    def append(self, account_id: str, entries: Sequence[AuditEntry]) -> int:
        """Chain `entries` after the account's head and store them; 0 when the account is gone.
        The account row is locked first, so appends for one account never fork the chain."""
        account = self._s.get(Account, account_id, with_for_update=True)
        if account is None or not entries:
            return 0
        linked = chain(account.audit_head or GENESIS, entries)
        self._s.add_all(
            AuditEvent(
                account_id=account_id,
                at=e.at,
                action=e.action,
                actor=dict(e.actor),
                bot_id=e.bot_id,
                detail=e.detail,
                prev_hash=e.prev_hash,
                hash=e.hash,
            )
            for e in linked
        )
        account.audit_head = linked[-1].hash
        return len(linked)

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
