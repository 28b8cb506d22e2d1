"""Erasure rows (the erasure outbox): named queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from meetstore.adapters.db import outbox
from meetstore.adapters.db.tables import Erasure
from meetstore.domain.records import ErasureRecord


class Erasures:
    def __init__(self, s: Session, *, postgres: bool) -> None:
        self._s = s
        self._postgres = postgres

    def add(
        self,
        *,
        bot_id: str,
        account_id: str,
        reason: str,
        scope: str,
        objects: dict[str, object],
        requested_by: dict[str, str | None] | None,
        now: datetime,
    ) -> Erasure:
        row = Erasure(
            bot_id=bot_id,
            account_id=account_id,
            reason=reason,
            scope=scope,
            state=outbox.PENDING,
            attempts=0,
            next_attempt_at=now,
            objects=objects,
            requested_at=now,
            requested_by=requested_by,
        )
        self._s.add(row)
        return row

    def latest_of_bot(self, bot_id: str) -> Erasure | None:
        return self._s.scalars(
            select(Erasure).where(Erasure.bot_id == bot_id).order_by(Erasure.id.desc()).limit(1)
        ).first()

    def claim_due(
        self, owner: str, limit: int, now: datetime, lease: timedelta
    ) -> list[tuple[ErasureRecord, bool]]:
        query = (
            select(Erasure)
            .where(*outbox.due(Erasure, now))
            .order_by(Erasure.next_attempt_at, Erasure.id)
            .limit(max(1, limit))
        )
        rows = list(self._s.scalars(outbox.claimable(query, postgres=self._postgres)))
        return [(row, outbox.take_lease(row, owner, now + lease)) for row in rows]

    def fenced(self, erasure_id: int, owner: str) -> Erasure | None:
        return outbox.fenced(self._s, Erasure, erasure_id, owner)

    def renew(self, owner: str, ids: Sequence[int], expires_at: datetime) -> set[int]:
        return outbox.renew(self._s, Erasure, owner, ids, expires_at)

    def release(self, owner: str, ids: Sequence[int]) -> None:
        outbox.release(self._s, Erasure, owner, ids)
