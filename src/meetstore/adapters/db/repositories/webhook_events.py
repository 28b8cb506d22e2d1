"""Webhook event rows (the delivery outbox): named queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session, aliased

from meetstore.adapters.db import outbox
from meetstore.adapters.db.tables import WebhookEvent
from meetstore.domain.records import WebhookEventRecord

DELIVERED = "delivered"
DEAD = "dead"
CANDIDATES_PER_SLOT = 8


class WebhookEvents:
    def __init__(self, s: Session, *, postgres: bool) -> None:
        self._s = s
        self._postgres = postgres

    def add(
        self, *, account_id: str, bot_id: str | None, event: str, callback_url: str, body: str, now: datetime
    ) -> WebhookEvent:
        row = WebhookEvent(
            account_id=account_id,
            bot_id=bot_id,
            event=event,
            callback_url=callback_url,
            body=body,
            state=outbox.PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        self._s.add(row)
        return row

    def of_bot(self, bot_id: str) -> list[WebhookEventRecord]:
        return list(
            self._s.scalars(select(WebhookEvent).where(WebhookEvent.bot_id == bot_id).order_by(WebhookEvent.id))
        )

    def claimable(self, now: datetime, limit: int) -> list[WebhookEventRecord]:
        e = WebhookEvent
        earlier = aliased(WebhookEvent)
        blocked = exists().where(
            and_(earlier.bot_id == e.bot_id, earlier.id < e.id, earlier.state.not_in((DELIVERED, DEAD)))
        )
        flying = aliased(WebhookEvent)
        receiver_busy = exists().where(
            and_(
                flying.account_id == e.account_id,
                flying.callback_url == e.callback_url,
                flying.state == outbox.PENDING,
                flying.lease_expires_at > now,
            )
        )
        stmt = (
            select(e)
            .where(*outbox.due(e, now), ~blocked, ~receiver_busy)
            .order_by(e.id)
            .limit(limit * CANDIDATES_PER_SLOT)
        )
        return list(self._s.scalars(outbox.claimable(stmt, postgres=self._postgres, of=e)).all())

    def receivers_in_flight(self, now: datetime) -> list[tuple[str, str]]:
        e = WebhookEvent
        rows = self._s.execute(
            select(e.account_id, e.callback_url).where(
                e.state == outbox.PENDING, e.lease_expires_at.is_not(None), e.lease_expires_at > now
            )
        ).all()
        return [(a, u) for a, u in rows]

    def lease(self, row: WebhookEventRecord, owner: str, expires_at: datetime) -> None:
        outbox.take_lease(row, owner, expires_at)

    def end_lease(self, row: WebhookEventRecord) -> None:
        outbox.end_lease(row)

    def fenced(self, event_id: int, owner: str) -> WebhookEvent | None:
        return outbox.fenced(self._s, WebhookEvent, event_id, owner)

    def release(self, owner: str, ids: Sequence[int]) -> None:
        outbox.release(self._s, WebhookEvent, owner, ids)

    def erase_of_bot(self, bot_id: str, now: datetime) -> int:
        """Erasure: the bot's stored payloads are emptied, and what was still to be delivered is
        given up (it would carry what was erased). How many rows."""
        rows = list(self._s.scalars(select(WebhookEvent).where(WebhookEvent.bot_id == bot_id)))
        for row in rows:
            row.body = "{}"
            if row.state == outbox.PENDING:
                row.state = DEAD
                row.last_error = "erased with the bot's data"
                outbox.end_lease(row)
        return len(rows)
