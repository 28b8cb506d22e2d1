"""Start/stop hooks for the in-process workers.

Each hook registers its worker's liveness probe on the container (`container.liveness`) while the
worker runs, so `/readyz` reports whether every in-process worker thread is alive.
"""

from __future__ import annotations

from collections.abc import Callable

from meetstore.container import Container

UPLOAD_PROBE = "upload_worker"
WEBHOOK_PROBE = "webhook_worker"


def upload_worker_hook(container: Container) -> Callable[[], None]:
    """Upload artifacts in this process (`settings.upload_concurrency` threads) unless disabled."""
    from meetstore.worker.uploads import UploadWorker

    if not container.settings.upload_worker:

        def nothing() -> None:
            return None

        return nothing
    worker = UploadWorker(
        container.uploads,
        container.settings,
        container.settings.upload_concurrency,
        # Bots whose runtime runs in this process are alive by definition: never swept here.
        sweeper=lambda: container.ingest.sweep_stale_runtimes(skip=container.runtime.active()),
    )
    worker.start()
    container.liveness[UPLOAD_PROBE] = worker.alive

    def stop() -> None:
        container.liveness.pop(UPLOAD_PROBE, None)
        worker.stop()

    return stop


def webhook_worker_hook(container: Container) -> Callable[[], None]:
    """Deliver webhooks in this process, on threads of their own (never the upload workers')."""
    from meetstore.worker.webhooks import WebhookWorker

    settings = container.settings
    worker = WebhookWorker(container.webhooks, settings, settings.webhook_concurrency)
    worker.start()
    container.liveness[WEBHOOK_PROBE] = worker.alive

    def stop() -> None:
        container.liveness.pop(WEBHOOK_PROBE, None)
        worker.stop()

    return stop


def health_monitor_hook(container: Container) -> Callable[[], None]:
    """Re-validate every storage configuration each MEETSTORE_HEALTH_INTERVAL_S (default hourly)."""
    from meetstore.services.health import start_health_monitor

    return start_health_monitor(container.health, container.settings.health_interval_s)
