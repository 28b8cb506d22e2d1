"""The read-side queries outside a transaction's repositories: the one round trip of the hottest
fetch endpoints, and the outboxes' statistics for /metrics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from meetstore.domain.records import ArtifactRecord, BotRecord, StorageConfigRecord


@dataclass(frozen=True)
class BotWithArtifact:
    """A bot, its first artifact of one kind, and its account's storage configuration in force."""

    bot: BotRecord
    artifact: ArtifactRecord | None
    config: StorageConfigRecord | None
    external_id: str | None


class FetchQueries(Protocol):
    """The read the hottest fetch endpoints make: one round trip, nothing else."""

    def bot_with_first(self, bot_id: str, account_id: str, kind: str) -> BotWithArtifact | None:
        """None when the account has no such bot."""
        ...


@dataclass(frozen=True)
class QueueStats:
    """The outboxes at a glance: what waits, and since when."""

    uploads_pending: int
    uploads_oldest_pending_s: float
    webhooks_pending: int
    upload_workers_alive: int


class StatsQueries(Protocol):
    def queue_stats(self, now: datetime, workers_seen_since: datetime) -> QueueStats: ...
