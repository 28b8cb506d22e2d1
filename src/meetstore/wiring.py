"""Which background loops run inside an API process (upload, webhook workers, simulator)."""

from __future__ import annotations

from meetstore.api.app import Hook


def background_hooks(*, with_upload_worker: bool) -> list[Hook]:
    """The hooks an API process starts. Workers are added by the pipeline modules."""
    hooks: list[Hook] = []
    return hooks
