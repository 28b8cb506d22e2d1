"""The runtime side: spool files, status changes, and "left" → pin + artifact rows. (Issue 3.)"""

from __future__ import annotations

from meetstore.adapters.db.engine import Database
from meetstore.adapters.platform_store.factory import PlatformStore
from meetstore.config import Settings
from meetstore.services.storage_config import StorageConfigService


class IngestService:
    def __init__(
        self, db: Database, settings: Settings, storage: StorageConfigService, platform: PlatformStore
    ) -> None:
        self._db = db
        self._settings = settings
        self._storage = storage
        self._platform = platform
