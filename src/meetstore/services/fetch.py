"""Fetch endpoints' use cases: the access decision, then a presigned URL or inline JSON. (Issue 4.)"""

from __future__ import annotations

from meetstore.adapters.db.engine import Database
from meetstore.config import Settings
from meetstore.services.locations import Locations


class FetchService:
    def __init__(self, db: Database, settings: Settings, locations: Locations) -> None:
        self._db = db
        self._settings = settings
        self._locations = locations
