"""The simulated bot runtime: records a synthetic meeting and hands it in like a real one. (Issue 3.)"""

from __future__ import annotations

from meetstore.config import Settings
from meetstore.services.ingest import IngestService


class SimulatedRuntime:
    def __init__(self, settings: Settings, ingest: IngestService) -> None:
        self._settings = settings
        self._ingest = ingest

    def stop(self) -> None:
        """Stop recording threads (app shutdown)."""
