"""Which background loops run inside an API process (upload and webhook workers)."""

from __future__ import annotations

from meetstore.api.app import Hook


def background_hooks(*, with_upload_worker: bool) -> list[Hook]:
    """The hooks an API process starts: the upload and webhook workers unless told not to."""
    hooks: list[Hook] = []
    if with_upload_worker:
        from meetstore.worker.hooks import health_monitor_hook, upload_worker_hook, webhook_worker_hook

        hooks += [upload_worker_hook, webhook_worker_hook, health_monitor_hook]
    return hooks
