"""Start/stop hooks for the in-process workers (filled in by the upload and webhook issues)."""

from __future__ import annotations

from collections.abc import Callable

from meetstore.container import Container


def upload_worker_hook(container: Container) -> Callable[[], None]:
    """Upload artifacts in this process (`settings.upload_concurrency` threads) unless disabled."""
    from meetstore.worker.uploads import UploadWorker

    if not container.settings.upload_worker:

        def nothing() -> None:
            return None

        return nothing
    worker = UploadWorker(container.uploads, container.settings, container.settings.upload_concurrency)
    worker.start()

    def stop() -> None:
        worker.stop()

    return stop


def webhook_worker_hook(container: Container) -> Callable[[], None]:
    """Deliver webhooks in this process, on threads of their own (never the upload workers')."""
    from meetstore.worker.webhooks import start_webhook_worker

    return start_webhook_worker(container)


def health_monitor_hook(container: Container) -> Callable[[], None]:
    """Re-validate every storage configuration each MEETSTORE_HEALTH_INTERVAL_S (default hourly)."""
    from meetstore.services.health import start_health_monitor

    return start_health_monitor(container.health, container.settings.health_interval_s)
