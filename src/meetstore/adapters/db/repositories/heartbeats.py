"""Worker heartbeats: which upload workers are alive (read by /metrics)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from meetstore.adapters.db.tables import WorkerHeartbeat


class Heartbeats:
    def __init__(self, s: Session) -> None:
        self._s = s

    def beat(self, worker_id: str, kind: str, now: datetime) -> None:
        row = self._s.get(WorkerHeartbeat, worker_id)
        if row is None:
            self._s.add(WorkerHeartbeat(worker_id=worker_id, kind=kind, seen_at=now))
        else:
            row.seen_at = now

    def forget(self, worker_id: str) -> None:
        row = self._s.get(WorkerHeartbeat, worker_id)
        if row is not None:
            self._s.delete(row)

    def live(self, kind: str, since: datetime) -> int:
        return int(
            self._s.scalar(
                select(func.count())
                .select_from(WorkerHeartbeat)
                .where(WorkerHeartbeat.kind == kind, WorkerHeartbeat.seen_at >= since)
            )
            or 0
        )
