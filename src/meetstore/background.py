"""What runs beside the API in a process (and alone in `meetstore worker`): the background
loops, each a hook that starts on a container and returns how to stop it."""

from __future__ import annotations

from collections.abc import Callable

from meetstore.container import Container

UPLOAD_PROBE = "upload_worker"
WEBHOOK_PROBE = "webhook_worker"

Hook = Callable[[Container], Callable[[], None]]
"""Starts background work for a container; returns the function that stops it."""


def background_hooks(*, with_workers: bool) -> list[Hook]:
    """What an API process runs beside the API: the change feed always, and with workers the
    upload, webhook, health, lifecycle and simulated-recording loops (the upload loop only while
    `MEETSTORE_UPLOAD_WORKER` is on)."""
    if not with_workers:
        return [change_loop(), audit_loop()]
    return [
        change_loop(),
        audit_loop(),
        upload_loops(),
        webhook_loops(),
        health_loop(),
        lifecycle_loops(),
        simulation_loop(),
    ]


def worker_hooks(*, concurrency: int | None = None, grace_s: float = 10.0) -> list[Hook]:
    """What `meetstore worker` runs: the same loops as an API process, without the API."""
    return [
        change_loop(),
        audit_loop(),
        upload_loops(concurrency=concurrency, grace_s=grace_s),
        webhook_loops(),
        health_loop(),
        lifecycle_loops(),
        simulation_loop(grace_s=grace_s),
    ]


def change_loop() -> Hook:
    """Read the change feed every `change_poll_s`: revoked keys and changed storage reach this
    process within about that long."""

    def start(container: Container) -> Callable[[], None]:
        from meetstore.worker.changes import ChangeWatcher

        watcher = ChangeWatcher(container.changes, container.settings.change_poll_s)
        watcher.start()
        return watcher.stop

    return start


def audit_loop() -> Hook:
    """Write buffered url.issued entries every `audit_flush_s` (sooner once `audit_flush_batch` are
    waiting), and what is left at shutdown."""

    def start(container: Container) -> Callable[[], None]:
        from meetstore.worker.audit import AuditFlusher

        flusher = AuditFlusher(container.audit, container.settings.audit_flush_s)
        flusher.start()
        return flusher.stop

    return start


def upload_loops(*, concurrency: int | None = None, grace_s: float = 10.0) -> Hook:
    def start(container: Container) -> Callable[[], None]:
        from meetstore.worker.uploads import UploadWorker

        settings = container.settings
        if not settings.upload_worker:
            return lambda: None
        worker = UploadWorker(
            container.uploads,
            settings,
            concurrency or settings.upload_concurrency,
            # Bots whose runtime runs in this process are alive by definition: never swept here.
            sweeper=lambda: container.handin.sweep_stale_runtimes(skip=container.runtime.active()),
            janitor=container.janitor.purge,
        )
        worker.start()
        container.liveness[UPLOAD_PROBE] = worker.alive

        def stop() -> None:
            container.liveness.pop(UPLOAD_PROBE, None)
            worker.stop(grace_s=grace_s)

        return stop

    return start


def webhook_loops() -> Hook:
    """Deliver webhooks on threads of their own (never the upload workers')."""

    def start(container: Container) -> Callable[[], None]:
        from meetstore.worker.webhooks import WebhookWorker

        settings = container.settings
        worker = WebhookWorker(container.webhooks, settings, settings.webhook_concurrency)
        worker.start()
        container.liveness[WEBHOOK_PROBE] = worker.alive

        def stop() -> None:
            container.liveness.pop(WEBHOOK_PROBE, None)
            worker.stop()

        return stop

    return start


def health_loop() -> Hook:
    """Re-validate every storage configuration each MEETSTORE_HEALTH_INTERVAL_S (default hourly)."""

    def start(container: Container) -> Callable[[], None]:
        from meetstore.worker.health import HealthMonitor

        monitor = HealthMonitor(container.health, container.settings.health_interval_s)
        monitor.start()
        return monitor.stop

    return start


def simulation_loop(*, grace_s: float = 10.0) -> Hook:
    """Record the queued simulated bots (API.md "Bots"), at most `simulated_recordings_per_worker`
    at once in this process."""

    def start(container: Container) -> Callable[[], None]:
        from meetstore.worker.simulations import SimulationWorker

        worker = SimulationWorker(container.runtime, container.runtime.poll_s, grace_s=grace_s)
        worker.start()
        return worker.stop

    return start


LIFECYCLE_PROBE = "lifecycle_worker"


def lifecycle_loops() -> Hook:
    """Erasures from their outbox, and the retention sweep (API.md "Data lifecycle")."""

    def start(container: Container) -> Callable[[], None]:
        from meetstore.worker.lifecycle import LifecycleWorker

        worker = LifecycleWorker(
            container.erasure_work, container.erasures, container.audit_views, container.settings
        )
        worker.start()
        container.liveness[LIFECYCLE_PROBE] = worker.alive

        def stop() -> None:
            container.liveness.pop(LIFECYCLE_PROBE, None)
            worker.stop()

        return stop

    return start
