"""The `Metrics` port over prometheus-client, on a registry of the container's own (never the
process-global one: several containers may live in one process, as in tests).

Queue depth, the age of the oldest pending upload, pending webhooks and live upload workers are
read from the database when /metrics is scraped, so every API process reports the same figures.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from meetstore.domain.read_queries import QueueStats

log = logging.getLogger("meetstore.metrics")

_SECONDS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900)


class PrometheusMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self._uploads = Counter("meetstore_uploads", "Upload attempts by outcome.", ["outcome"], registry=r)
        self._upload_bytes = Counter(
            "meetstore_upload_bytes", "Bytes of files uploaded for good.", registry=r
        )
        self._upload_seconds = Histogram(
            "meetstore_upload_seconds",
            "Duration of upload attempts.",
            ["outcome"],
            buckets=_SECONDS,
            registry=r,
        )
        self._fetches = Counter(
            "meetstore_fetches", "Fetch endpoint answers by code.", ["endpoint", "code"], registry=r
        )
        self._webhooks = Counter(
            "meetstore_webhook_attempts",
            "Webhook delivery attempts by resulting state.",
            ["state"],
            registry=r,
        )
        self._validations = Counter(
            "meetstore_validations", "Live bucket checks by kind and result.", ["kind", "result"], registry=r
        )
        self._validation_seconds = Histogram(
            "meetstore_validation_seconds",
            "Duration of live bucket checks.",
            ["kind"],
            buckets=_SECONDS,
            registry=r,
        )

    def upload_finished(self, outcome: str, size: int, seconds: float) -> None:
        self._uploads.labels(outcome).inc()
        self._upload_seconds.labels(outcome).observe(seconds)
        if outcome == "uploaded":
            self._upload_bytes.inc(size)

    def fetch_answered(self, endpoint: str, code: str) -> None:
        self._fetches.labels(endpoint, code).inc()

    def webhook_attempted(self, state: str) -> None:
        self._webhooks.labels(state).inc()

    def validation_ran(self, kind: str, ok: bool, seconds: float) -> None:
        self._validations.labels(kind, "ok" if ok else "failed").inc()
        self._validation_seconds.labels(kind).observe(seconds)

    def watch_queues(self, read: Callable[[datetime, datetime], QueueStats], live_after_s: float) -> None:
        """Report the outboxes from `read` at every scrape (a worker is alive while it beat within
        `live_after_s`)."""
        self.registry.register(_QueueCollector(read, live_after_s))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _QueueCollector(Collector):
    def __init__(self, read: Callable[[datetime, datetime], QueueStats], live_after_s: float) -> None:
        self._read = read
        self._live_after = timedelta(seconds=live_after_s)

    def describe(self) -> list[GaugeMetricFamily]:
        return []  # read at scrape time only: describing would query the database at registration

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = datetime.now(UTC)
        try:
            stats = self._read(now, now - self._live_after)
        except Exception as exc:  # the database is away: the counters are still worth a scrape
            log.warning("queue metrics skipped: %s", type(exc).__name__)
            return
        yield GaugeMetricFamily(
            "meetstore_upload_queue_depth", "Artifacts waiting to be uploaded.", stats.uploads_pending
        )
        yield GaugeMetricFamily(
            "meetstore_upload_queue_oldest_seconds",
            "Age of the oldest artifact waiting to be uploaded.",
            stats.uploads_oldest_pending_s,
        )
        yield GaugeMetricFamily(
            "meetstore_webhook_queue_depth", "Webhook events waiting for delivery.", stats.webhooks_pending
        )
        yield GaugeMetricFamily(
            "meetstore_upload_workers_alive",
            "Upload workers whose heartbeat is recent.",
            stats.upload_workers_alive,
        )
