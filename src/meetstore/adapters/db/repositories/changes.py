"""The change feed's rows: recorded in the transaction of the change, read by every process."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from meetstore.adapters.db.tables import AccountChange


class Changes:
    def __init__(self, s: Session) -> None:
        self._s = s

    def record(self, account_id: str, what: str, now: datetime) -> None:
        self._s.add(AccountChange(account_id=account_id, what=what, at=now))

    def latest(self) -> int:
        return int(self._s.execute(select(func.coalesce(func.max(AccountChange.id), 0))).scalar_one())

    def since(self, after: int, limit: int) -> list[tuple[int, str, str]]:
        """(id, account id, what) of the changes after `after`, oldest first."""
        rows = self._s.execute(
            select(AccountChange.id, AccountChange.account_id, AccountChange.what)
            .where(AccountChange.id > after)
            .order_by(AccountChange.id)
            .limit(limit)
        ).all()
        return [(int(i), a, w) for i, a, w in rows]

    def prune(self, before: datetime) -> int:
        result = self._s.execute(delete(AccountChange).where(AccountChange.at < before))
        return int(getattr(result, "rowcount", 0) or 0)
