"""The spool's sealed keys (named queries). Only ciphertext is ever stored here."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from meetstore.adapters.db.tables import SpoolKey

ACCOUNT = "account"
BOT = "bot"


class SpoolKeys:
    def __init__(self, s: Session) -> None:
        self._s = s

    def _get(self, kind: str, owner_id: str) -> bytes | None:
        row = self._s.get(SpoolKey, (kind, owner_id))
        return None if row is None else bytes(row.key_ct)

    def _add(self, kind: str, owner_id: str, account_id: str, sealed: bytes, now: datetime) -> bool:
        # Two processes may make a key for the same owner at once: the second insert loses, and
        # its caller reads the winner's key.
        try:
            with self._s.begin_nested():
                self._s.add(SpoolKey(kind=kind, owner_id=owner_id, account_id=account_id, key_ct=sealed, created_at=now))
        except IntegrityError:
            return False
        return True

    def account_key(self, account_id: str) -> bytes | None:
        return self._get(ACCOUNT, account_id)

    def add_account_key(self, account_id: str, sealed: bytes, now: datetime) -> bool:
        return self._add(ACCOUNT, account_id, account_id, sealed, now)

    def bot_key(self, bot_id: str) -> bytes | None:
        return self._get(BOT, bot_id)

    def add_bot_key(self, bot_id: str, account_id: str, wrapped: bytes, now: datetime) -> bool:
        return self._add(BOT, bot_id, account_id, wrapped, now)

    def destroy_bot_key(self, bot_id: str) -> bool:
        result = self._s.execute(delete(SpoolKey).where(SpoolKey.kind == BOT, SpoolKey.owner_id == bot_id))
        return bool(getattr(result, "rowcount", 0))

    def destroy_account_keys(self, account_id: str) -> int:
        result = self._s.execute(delete(SpoolKey).where(SpoolKey.account_id == account_id))
        return int(getattr(result, "rowcount", 0) or 0)

    def sealed_account_keys(self, after: str, limit: int) -> list[tuple[str, bytes]]:
        rows = self._s.execute(
            select(SpoolKey.owner_id, SpoolKey.key_ct)
            .where(SpoolKey.kind == ACCOUNT, SpoolKey.owner_id > after)
            .order_by(SpoolKey.owner_id)
            .limit(limit)
        )
        return [(str(owner), bytes(ct)) for owner, ct in rows]

    def replace_account_key(self, account_id: str, sealed: bytes) -> None:
        row = self._s.get(SpoolKey, (ACCOUNT, account_id))
        if row is not None:
            row.key_ct = sealed

    def count_account_keys(self) -> int:
        return int(self._s.scalar(select(func.count()).select_from(SpoolKey).where(SpoolKey.kind == ACCOUNT)) or 0)
