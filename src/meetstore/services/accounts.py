"""Accounts: API keys (random, stored as a hash) and webhook secrets (stored encrypted)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass

from sqlalchemy import func, select

from meetstore.adapters.db.engine import Database
from meetstore.adapters.db.tables import Account
from meetstore.domain.clock import SystemClock
from meetstore.domain.ports import SecretBox
from meetstore.errors import InvalidApiKey, NotFound

WEBHOOK_SECRET_PURPOSE = "account.webhook_secret"
API_KEY_PREFIX = "ms_"


def hash_api_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class NewAccount:
    account_id: str
    api_key: str
    webhook_secret: str

    def __repr__(self) -> str:
        return f"NewAccount(account_id={self.account_id!r})"


class AccountService:
    def __init__(self, db: Database, box: SecretBox, clock: SystemClock | None = None) -> None:
        self._db = db
        self._box = box
        self._clock = clock or SystemClock()

    def create(self, name: str) -> NewAccount:
        account_id = str(uuid.uuid4())
        api_key = API_KEY_PREFIX + secrets.token_urlsafe(32)
        webhook_secret = "whsec_" + secrets.token_urlsafe(32)
        with self._db.session() as s:
            s.add(
                Account(
                    id=account_id,
                    name=name,
                    api_key_hash=hash_api_key(api_key),
                    webhook_secret_ct=self._box.seal(
                        webhook_secret, account_id=account_id, purpose=WEBHOOK_SECRET_PURPOSE
                    ),
                    storage_version_seq=0,
                    created_at=self._clock.now(),
                    revoked_at=None,
                )
            )
        return NewAccount(account_id, api_key, webhook_secret)

    def authenticate(self, api_key: str) -> str:
        """The account id of a valid key; InvalidApiKey for an unknown or revoked one."""
        with self._db.session() as s:
            row = s.execute(
                select(Account.id, Account.revoked_at).where(Account.api_key_hash == hash_api_key(api_key))
            ).first()
        if row is None or row.revoked_at is not None:
            raise InvalidApiKey("The API key is not valid.")
        return str(row.id)

    def count(self) -> int:
        with self._db.session() as s:
            return int(s.execute(select(func.count()).select_from(Account)).scalar_one())

    def webhook_secret(self, account_id: str) -> str:
        with self._db.session() as s:
            acct = s.get(Account, account_id)
            if acct is None:
                raise NotFound("No such account.")
            blob = acct.webhook_secret_ct
        return self._box.open(blob, account_id=account_id, purpose=WEBHOOK_SECRET_PURPOSE)

    def rotate_webhook_secret(self, account_id: str) -> str:
        secret = "whsec_" + secrets.token_urlsafe(32)
        with self._db.session() as s:
            acct = s.get(Account, account_id)
            if acct is None:
                raise NotFound("No such account.")
            acct.webhook_secret_ct = self._box.seal(
                secret, account_id=account_id, purpose=WEBHOOK_SECRET_PURPOSE
            )
        return secret

    def revoke(self, account_id: str) -> None:
        with self._db.session() as s:
            acct = s.get(Account, account_id)
            if acct is None:
                raise NotFound("No such account.")
            acct.revoked_at = self._clock.now()
