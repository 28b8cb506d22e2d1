"""The outbox machinery, once: lease claim, renewal, release and the fence, for every outbox table
(artifact uploads, webhook deliveries, erasures).

An outbox row is `pending` until its work is done; a worker *claims* due rows by writing a lease
(owner + expiry) on them. On PostgreSQL the claim query takes its rows `FOR UPDATE SKIP LOCKED`,
so concurrent claimers never wait for, nor get, each other's rows; on SQLite the session's
`BEGIN IMMEDIATE` (adapters/db/engine.py) makes claimers take turns. Every outcome is written
through `fenced`: the row is re-read, locked, only while this worker still holds its lease, so a
worker whose lease ran out (and was taken over) changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy import ColumnElement, Select, or_, select, update
from sqlalchemy.orm import Session

from meetstore.adapters.db.tables import Artifact, Erasure, WebhookEvent

PENDING = "pending"

Row = TypeVar("Row", Artifact, WebhookEvent, Erasure)


class Leased(Protocol):
    lease_owner: str | None
    lease_expires_at: datetime | None


def due(model: type[Artifact] | type[WebhookEvent] | type[Erasure], now: datetime) -> list[ColumnElement[bool]]:
    """Pending, its next attempt due, and no live lease on it (none, or one that ran out)."""
    return [
        model.state == PENDING,
        or_(model.next_attempt_at.is_(None), model.next_attempt_at <= now),
        or_(model.lease_expires_at.is_(None), model.lease_expires_at <= now),
    ]


def claimable(query: Select[Any], *, postgres: bool, of: Any = None) -> Select[Any]:
    """The claim query with the row locking of the engine (SKIP LOCKED on PostgreSQL)."""
    if postgres:
        return query.with_for_update(skip_locked=True, of=of)
    return query


def take_lease(row: Leased, owner: str, expires_at: datetime) -> bool:
    """Lease a claimed row to `owner`; True when a lease was still on it (its holder died or
    stalled mid-attempt: the row is being taken over)."""
    taken_over = row.lease_owner is not None
    row.lease_owner = owner
    row.lease_expires_at = expires_at
    return taken_over


def end_lease(row: Leased) -> None:
    row.lease_owner = None
    row.lease_expires_at = None


def fenced(s: Session, model: type[Row], row_id: int, owner: str) -> Row | None:
    """The row, locked, while `owner` still holds its lease on it; None once the lease is lost."""
    row: Row | None = s.execute(
        select(model)
        .where(model.id == row_id, model.lease_owner == owner, model.state == PENDING)
        .with_for_update()
    ).scalar_one_or_none()
    return row


def renew(s: Session, model: type[Row], owner: str, ids: Sequence[int], expires_at: datetime) -> set[int]:
    """Extend the leases `owner` still holds among `ids`; returns those it holds. A row no longer
    pending (an artifact whose bot was erased) is not held: its holder stops."""
    if not ids:
        return set()
    s.execute(
        update(model)
        .where(model.id.in_(ids), model.lease_owner == owner, model.state == PENDING)
        .values(lease_expires_at=expires_at)
    )
    return set(
        s.scalars(select(model.id).where(model.id.in_(ids), model.lease_owner == owner, model.state == PENDING))
    )


def release(s: Session, model: type[Row], owner: str, ids: Sequence[int]) -> None:
    """Give leases back at once without counting an attempt (a worker stopping mid-way), so no
    other worker need wait them out."""
    if ids:
        s.execute(
            update(model)
            .where(model.id.in_(ids), model.lease_owner == owner)
            .values(lease_owner=None, lease_expires_at=None)
        )
