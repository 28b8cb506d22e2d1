"""Storage configuration rows (one per account at most): named queries."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from meetstore.adapters.db.tables import Account, StorageConfigRow
from meetstore.domain.records import StorageConfigRecord


class StorageConfigs:
    def __init__(self, s: Session) -> None:
        self._s = s

    def get(self, account_id: str, *, lock: bool = False) -> StorageConfigRow | None:
        return self._s.get(StorageConfigRow, account_id, with_for_update=lock)

    def with_external_id(self, account_id: str) -> tuple[StorageConfigRow, str | None] | None:
        found = self._s.execute(
            select(StorageConfigRow, Account.external_id)
            .join(Account, Account.id == StorageConfigRow.account_id)
            .where(StorageConfigRow.account_id == account_id)
        ).first()
        return None if found is None else (found[0], found[1])

    def new(self, account_id: str) -> StorageConfigRow:
        row = StorageConfigRow(account_id=account_id)
        self._s.add(row)
        return row

    def delete(self, row: StorageConfigRecord) -> None:
        self._s.delete(row)  # the ORM row the repository handed out

    def account_ids(self) -> list[str]:
        return [a for (a,) in self._s.execute(select(StorageConfigRow.account_id)).all()]

    def count(self) -> int:
        return int(self._s.execute(select(func.count()).select_from(StorageConfigRow)).scalar_one())
