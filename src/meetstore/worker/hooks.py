"""Start/stop hooks for the in-process workers (filled in by the upload and webhook issues)."""

from __future__ import annotations

from collections.abc import Callable

from meetstore.container import Container


def upload_worker_hook(container: Container) -> Callable[[], None]:
    def stop() -> None:
        return None

    return stop


def webhook_worker_hook(container: Container) -> Callable[[], None]:
    def stop() -> None:
        return None

    return stop
