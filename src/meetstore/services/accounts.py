"""Accounts: API keys (random, stored as a hash) and webhook secrets (stored encrypted).

Authentication caches a valid key's account for `auth_cache_ttl_s` (default 5 s, per process;
0 turns it off): a busy client costs one indexed lookup per key per TTL instead of one per request.
Only hits are cached (a key created a moment ago, in any process, works at once), the cache is
bounded, and a revocation is honoured at once by the process that revokes and within the TTL by
every other process.

A busy key never expires in the middle of its traffic: once an entry is past half its life, one
request (`needs_revalidation`) has it re-validated in the background (`revalidate`) while every
request keeps being answered from the cache. Without this, all requests in flight would miss the
cache together at the end of each TTL and queue up for the same lookup (docs/performance.md). A
re-validation only ever extends an entry from a lookup made after
it was last validated, so a revoked key still stops working within the TTL.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime

from meetstore.domain.clock import SystemClock
from meetstore.domain.ports import SecretBox
from meetstore.domain.repositories import Transactions
from meetstore.errors import InvalidApiKey, NotFound
from meetstore.services.audit import ACTOR, AuditTrail
from meetstore.services.changes import API_KEY

WEBHOOK_SECRET_PURPOSE = "account.webhook_secret"


def new_webhook_secret() -> str:
    """`whsec_` and the base64 of 32 random bytes: the Standard Webhooks form, whose decoded
    bytes are the key of `webhook-signature`."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


API_KEY_PREFIX = "ms_"
AUTH_CACHE_MAX_KEYS = 10_000


def hash_api_key(api_key: str) -> str:
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()


def api_key_id(key_hash: str) -> str:
    """The id an API key is known by in the audit trail and the console: a prefix of its hash
    (which identifies the key without revealing anything that would let one use it)."""
    return "key_" + key_hash[:16]


AUTH_FAILED_EVERY_S = 60.0
"""At most one auth.failed entry per account and address in this long."""


@dataclass(frozen=True)
class NewAccount:
    account_id: str
    api_key: str
    webhook_secret: str

    def __repr__(self) -> str:
        return f"NewAccount(account_id={self.account_id!r})"


class _AuthCache:
    """API key hash → (account id, monotonic expiry): valid keys only, bounded, thread-safe."""

    def __init__(self, ttl_s: float, max_keys: int = AUTH_CACHE_MAX_KEYS) -> None:
        self.ttl_s = ttl_s
        self._max_keys = max_keys
        self._entries: dict[str, tuple[str, float]] = {}
        self._refreshing: set[str] = set()
        self._lock = threading.Lock()
        self._epoch = 0

    def get(self, key_hash: str) -> str | None:
        entry = self._entries.get(key_hash)
        if entry is None:
            return None
        if entry[1] <= time.monotonic():
            with self._lock:
                if self._entries.get(key_hash) is entry:
                    del self._entries[key_hash]
            return None
        return entry[0]

    def epoch(self) -> int:
        """Taken before a lookup and given to `put`: a drop since then makes the put a no-op."""
        return self._epoch

    def put(self, key_hash: str, account_id: str, epoch: int) -> None:
        if self.ttl_s <= 0:
            return
        with self._lock:
            if epoch != self._epoch:
                # A key was dropped (revoked, rotated) while this lookup ran: what it read may be
                # the state before the revocation, which must not come back for a TTL.
                return
            if len(self._entries) >= self._max_keys and key_hash not in self._entries:
                now = time.monotonic()
                self._entries = {k: v for k, v in self._entries.items() if v[1] > now}
                if len(self._entries) >= self._max_keys:
                    self._entries.clear()
            self._entries[key_hash] = (account_id, time.monotonic() + self.ttl_s)

    def claim_refresh(self, key_hash: str) -> bool:
        """True for one caller once the entry is past half its life (until `refreshed`)."""
        entry = self._entries.get(key_hash)
        if entry is None or entry[1] - time.monotonic() > self.ttl_s / 2:
            return False
        with self._lock:
            if key_hash in self._refreshing:
                return False
            self._refreshing.add(key_hash)
            return True

    def refreshed(self, key_hash: str) -> None:
        with self._lock:
            self._refreshing.discard(key_hash)

    def drop(self, key_hash: str) -> None:
        with self._lock:
            self._epoch += 1
            self._entries.pop(key_hash, None)

    def drop_account(self, account_id: str) -> None:
        with self._lock:
            self._epoch += 1
            self._entries = {k: v for k, v in self._entries.items() if v[0] != account_id}


@dataclass(frozen=True, slots=True)
class ApiKeyView:
    api_key_id: str
    created_at: datetime
    revoked_at: datetime | None


class AccountService:
    def __init__(
        self,
        tx: Transactions,
        box: SecretBox,
        clock: SystemClock | None = None,
        *,
        auth_cache_ttl_s: float = 5.0,
        audit: AuditTrail | None = None,
    ) -> None:
        self._audit = audit or AuditTrail(tx)
        self._failures: dict[tuple[str, str | None], float] = {}
        self._failures_lock = threading.Lock()
        self._tx = tx
        self._box = box
        self._clock = clock or SystemClock()
        self._auth_cache = _AuthCache(auth_cache_ttl_s)

    def create(self, name: str) -> NewAccount:
        account_id = str(uuid.uuid4())
        api_key = API_KEY_PREFIX + secrets.token_urlsafe(32)
        webhook_secret = new_webhook_secret()
        sealed = self._box.seal(webhook_secret, account_id=account_id, purpose=WEBHOOK_SECRET_PURPOSE)
        with self._tx.write() as tx:
            tx.accounts.add(
                id=account_id,
                name=name,
                api_key_hash=hash_api_key(api_key),
                webhook_secret_ct=sealed,
                now=self._clock.now(),
            )
            tx.flush()
            self._audit.record(
                tx, account_id, "api_key.created", detail={"api_key_id": api_key_id(hash_api_key(api_key))}
            )
        return NewAccount(account_id, api_key, webhook_secret)

    def cached_account(self, api_key: str) -> str | None:
        """The account of a key validated less than `auth_cache_ttl_s` ago (no I/O), else None."""
        return self._auth_cache.get(hash_api_key(api_key))

    def needs_revalidation(self, api_key: str) -> bool:
        """True for the one request that should have this cached key re-validated now."""
        return self._auth_cache.claim_refresh(hash_api_key(api_key))

    def authenticate(self, api_key: str) -> str:
        """The account id of a valid key; InvalidApiKey for an unknown or revoked one."""
        key_hash = hash_api_key(api_key)
        cached = self._auth_cache.get(key_hash)
        if cached is not None:
            return cached
        epoch = self._auth_cache.epoch()
        with self._tx.read() as tx:
            owner = tx.accounts.key_owner(key_hash)
        if owner is not None and owner[1] is not None:
            self._revoked_key_used(owner[0], key_hash)
        account_id = None if owner is None or owner[1] is not None else owner[0]
        if account_id is None:
            raise InvalidApiKey("The API key is not valid.")
        self._auth_cache.put(key_hash, account_id, epoch)
        return account_id

    def revalidate(self, api_key: str) -> None:
        """Look a cached key up again: a valid one's entry starts a new TTL, a revoked or deleted
        one's is dropped. When the lookup fails (database away), the entry runs out as usual."""
        key_hash = hash_api_key(api_key)
        try:
            epoch = self._auth_cache.epoch()
            account_id = self._look_up(key_hash)
            if account_id is None:
                self._auth_cache.drop(key_hash)
            else:
                self._auth_cache.put(key_hash, account_id, epoch)
        finally:
            self._auth_cache.refreshed(key_hash)

    def _revoked_key_used(self, account_id: str, key_hash: str) -> None:
        """auth.failed in the account's trail (an unknown key belongs to no account): at most one
        per account and address a minute, so a client retrying in a loop cannot flood it."""
        address = ACTOR.get().address
        now = time.monotonic()
        with self._failures_lock:
            last = self._failures.get((account_id, address))
            if last is not None and now - last < AUTH_FAILED_EVERY_S:
                return
            if len(self._failures) > 10_000:
                self._failures = {k: t for k, t in self._failures.items() if now - t < AUTH_FAILED_EVERY_S}
            self._failures[(account_id, address)] = now
        self._audit.record_now(
            account_id, "auth.failed", detail={"reason": "revoked_key", "api_key_id": api_key_id(key_hash)}
        )

    def _look_up(self, key_hash: str) -> str | None:
        with self._tx.read() as tx:
            owner = tx.accounts.key_owner(key_hash)
        if owner is None or owner[1] is not None:
            return None
        return owner[0]

    def key_of(self, account_id: str) -> ApiKeyView:
        """The account's API key as the console lists it: its id and times, never the key."""
        with self._tx.read() as tx:
            acct = tx.accounts.get(account_id)
            if acct is None:
                raise NotFound("No such account.")
            return ApiKeyView(
                api_key_id(acct.api_key_hash), acct.api_key_created_at or acct.created_at, acct.revoked_at
            )

    def count(self) -> int:
        with self._tx.read() as tx:
            return tx.accounts.count()

    def webhook_secret(self, account_id: str) -> str:
        with self._tx.read() as tx:
            acct = tx.accounts.get(account_id)
            if acct is None:
                raise NotFound("No such account.")
            blob = acct.webhook_secret_ct
        return self._box.open(blob, account_id=account_id, purpose=WEBHOOK_SECRET_PURPOSE)

    def rotate_webhook_secret(self, account_id: str) -> str:
        secret = new_webhook_secret()
        with self._tx.write() as tx:
            acct = tx.accounts.get(account_id)
            if acct is None:
                raise NotFound("No such account.")
            acct.webhook_secret_ct = self._box.seal(
                secret, account_id=account_id, purpose=WEBHOOK_SECRET_PURPOSE
            )
            self._audit.record(tx, account_id, "webhook_secret.rotated")
        return secret

    def revoke(self, account_id: str) -> None:
        """Revoke the account's API key: refused by every process within `change_poll_s`."""
        with self._tx.write() as tx:
            acct = tx.accounts.get(account_id, lock=True)
            if acct is None:
                raise NotFound("No such account.")
            now = self._clock.now()
            acct.revoked_at = now
            tx.console_sessions.end_of_account(account_id, now)
            tx.changes.record(account_id, API_KEY, now)
            self._audit.record(
                tx, account_id, "api_key.revoked", detail={"api_key_id": api_key_id(acct.api_key_hash)}
            )
        self._auth_cache.drop_account(account_id)

    def rotate_key(self, account_id: str) -> str:
        """A new API key for the account, returned once; the old one (or a revoked one) stops
        working in every process within `change_poll_s`."""
        api_key = API_KEY_PREFIX + secrets.token_urlsafe(32)
        with self._tx.write() as tx:
            acct = tx.accounts.get(account_id, lock=True)
            if acct is None:
                raise NotFound("No such account.")
            now = self._clock.now()
            replaced = api_key_id(acct.api_key_hash)
            acct.api_key_hash = hash_api_key(api_key)
            acct.api_key_created_at = now
            acct.revoked_at = None
            tx.console_sessions.end_of_account(account_id, now)
            tx.changes.record(account_id, API_KEY, now)
            self._audit.record(
                tx,
                account_id,
                "api_key.rotated",
                detail={"api_key_id": api_key_id(acct.api_key_hash), "replaced": replaced},
            )
        self._auth_cache.drop_account(account_id)
        return api_key

    def forget_account(self, account_id: str) -> None:
        """Another process changed the account's key: drop what this one remembers of it."""
        self._auth_cache.drop_account(account_id)
