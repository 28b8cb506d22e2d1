"""Bot rows: the named queries of the upload pipeline."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from meetstore.adapters.db.tables import Bot


class Bots:
    """The bot queries the upload pipeline needs, in one transaction."""

    def __init__(self, s: Session) -> None:
        self._s = s

    def locked(self, bot_id: str) -> Bot:
        """The bot, locked: serialises "is this its last artifact?" between upload threads."""
        return self._s.execute(select(Bot).where(Bot.id == bot_id).with_for_update()).scalar_one()

    def get(self, bot_id: str) -> Bot | None:
        return self._s.get(Bot, bot_id)

    def of_account_locked(self, bot_id: str, account_id: str) -> Bot | None:
        return self._s.execute(
            select(Bot).where(Bot.id == bot_id, Bot.account_id == account_id).with_for_update()
        ).scalar_one_or_none()

    def by_ids(self, ids: Sequence[str]) -> list[Bot]:
        return list(self._s.scalars(select(Bot).where(Bot.id.in_(ids))))
