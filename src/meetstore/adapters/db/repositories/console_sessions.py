"""Web console sessions (named queries)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from meetstore.adapters.db.tables import ConsoleSession


class ConsoleSessions:
    def __init__(self, s: Session) -> None:
        self._s = s

    def add(self, token_hash: str, account_id: str, api_key_id: str, now: datetime) -> None:
        self._s.add(
            ConsoleSession(
                token_hash=token_hash, account_id=account_id, api_key_id=api_key_id, created_at=now, last_seen_at=now
            )
        )

    def get(self, token_hash: str) -> ConsoleSession | None:
        return self._s.get(ConsoleSession, token_hash)

    def end_of_account(self, account_id: str, now: datetime) -> int:
        """End every open session of the account (its key was revoked or rotated)."""
        result = self._s.execute(
            update(ConsoleSession)
            .where(ConsoleSession.account_id == account_id, ConsoleSession.ended_at.is_(None))
            .values(ended_at=now)
        )
        return int(getattr(result, "rowcount", 0) or 0)
