"""The outboxes' depth, for the metrics: counts on the claim indexes, and live workers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from meetstore.adapters.db import outbox
from meetstore.adapters.db.engine import Database
from meetstore.adapters.db.tables import Artifact, WebhookEvent, WorkerHeartbeat
from meetstore.domain.read_queries import QueueStats


class Stats:
    def __init__(self, db: Database) -> None:
        self._db = db

    def queue_stats(self, now: datetime, workers_seen_since: datetime) -> QueueStats:
        with self._db.read() as s:
            pending, oldest = s.execute(
                select(func.count(), func.min(Artifact.created_at)).where(Artifact.state == outbox.PENDING)
            ).one()
            hooks = s.scalar(
                select(func.count()).select_from(WebhookEvent).where(WebhookEvent.state == outbox.PENDING)
            )
            workers = s.scalar(
                select(func.count())
                .select_from(WorkerHeartbeat)
                .where(WorkerHeartbeat.kind == "upload", WorkerHeartbeat.seen_at >= workers_seen_since)
            )
        age = 0.0
        if oldest is not None:
            at = oldest if oldest.tzinfo else oldest.replace(tzinfo=now.tzinfo)
            age = max(0.0, (now - at).total_seconds())
        return QueueStats(int(pending or 0), age, int(hooks or 0), int(workers or 0))
