"""Account rows: named queries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from meetstore.adapters.db.tables import Account


class Accounts:
    def __init__(self, s: Session) -> None:
        self._s = s

    def add(self, *, id: str, name: str, api_key_hash: str, webhook_secret_ct: bytes, now: datetime) -> None:
        self._s.add(
            Account(
                id=id,
                name=name,
                api_key_hash=api_key_hash,
                webhook_secret_ct=webhook_secret_ct,
                storage_version_seq=0,
                created_at=now,
            )
        )

    def get(self, account_id: str, *, lock: bool = False) -> Account | None:
        return self._s.get(Account, account_id, with_for_update=lock)

    def key_owner(self, api_key_hash: str) -> tuple[str, datetime | None] | None:
        found = self._s.execute(
            select(Account.id, Account.revoked_at).where(Account.api_key_hash == api_key_hash)
        ).first()
        return None if found is None else (found[0], found[1])

    def count(self) -> int:
        return int(self._s.execute(select(func.count()).select_from(Account)).scalar_one())

    def ids(self) -> list[str]:
        return [r for (r,) in self._s.execute(select(Account.id)).all()]
