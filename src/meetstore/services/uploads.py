"""The upload pipeline over the artifact outbox: claim, upload, retry, fail for good. (Issue 3.)"""

from __future__ import annotations

from meetstore.adapters.db.engine import Database
from meetstore.config import Settings
from meetstore.services.locations import Locations


class UploadService:
    def __init__(self, db: Database, settings: Settings, locations: Locations) -> None:
        self._db = db
        self._settings = settings
        self._locations = locations
