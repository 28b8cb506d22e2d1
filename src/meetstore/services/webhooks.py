"""Webhook delivery: claim event rows, sign, POST, retry with backoff, mark dead. (Issue 5.)"""

from __future__ import annotations

from meetstore.adapters.db.engine import Database
from meetstore.config import Settings
from meetstore.services.accounts import AccountService


class WebhookService:
    def __init__(self, db: Database, settings: Settings, accounts: AccountService) -> None:
        self._db = db
        self._settings = settings
        self._accounts = accounts
