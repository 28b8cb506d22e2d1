"""Bots: create (with Idempotency-Key), list, status, detail, remove. (Issue 3 fills this in.)"""

from __future__ import annotations

from meetstore.adapters.db.engine import Database
from meetstore.config import Settings
from meetstore.runtime.simulator import SimulatedRuntime
from meetstore.services.ingest import IngestService


class BotService:
    def __init__(
        self, db: Database, settings: Settings, ingest: IngestService, runtime: SimulatedRuntime
    ) -> None:
        self._db = db
        self._settings = settings
        self._ingest = ingest
        self._runtime = runtime
