"""Web console sessions: an API key is exchanged for a server-side session.

The cookie carries a random token; the database keeps only its SHA-256, so a copy of the
database opens no session. The CSRF token is derived from the session token (an HMAC), so it is
never stored and changes with every session. A session ends after `console_idle_s` without use,
on sign-out, and when the key it was opened with is revoked or rotated (every process checks the
account's current key id at each request, so it ends everywhere at once).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from meetstore.domain.clock import SystemClock
from meetstore.domain.ports import Clock
from meetstore.domain.repositories import Transactions
from meetstore.errors import NotAuthenticated
from meetstore.services.accounts import AccountService, api_key_id, hash_api_key
from meetstore.services.audit import AuditTrail

TOKEN_BYTES = 32
TOUCH_EVERY_S = 60.0
"""last_seen_at is written at most this often per session (a page load is not a write each)."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def csrf_token(session_token: str) -> str:
    digest = hmac.new(session_token.encode("utf-8"), b"meetstore-console-csrf", hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


@dataclass(frozen=True, slots=True)
class ConsoleUser:
    """Who a valid session is: the account, and the token that proves a form came from its page."""

    account_id: str
    api_key_id: str
    csrf: str


@dataclass(frozen=True, slots=True)
class SignedIn:
    token: str
    """The cookie's value: issued once, here, and never stored."""
    user: ConsoleUser


class ConsoleSessions:
    def __init__(
        self,
        tx: Transactions,
        accounts: AccountService,
        audit: AuditTrail,
        *,
        idle_s: float,
        clock: Clock | None = None,
    ) -> None:
        self._tx = tx
        self._accounts = accounts
        self._audit = audit
        self._idle = timedelta(seconds=idle_s)
        self._clock: Clock = clock or SystemClock()

    def sign_in(self, api_key: str) -> SignedIn:
        """A new session for a valid key (InvalidApiKey otherwise); `console.signed_in` audited."""
        account_id = self._accounts.authenticate(api_key.strip())
        key_id = api_key_id(hash_api_key(api_key.strip()))
        token = secrets.token_urlsafe(TOKEN_BYTES)
        with self._tx.write() as tx:
            tx.console_sessions.add(token_hash(token), account_id, key_id, self._clock.now())
            self._audit.record(tx, account_id, "console.signed_in", detail={"api_key_id": key_id})
        return SignedIn(token, ConsoleUser(account_id, key_id, csrf_token(token)))

    def user_of(self, token: str | None) -> ConsoleUser:
        """The session's user; NotAuthenticated when there is none, it ended, it was idle too
        long, or its key is no longer the account's key in force."""
        if not token:
            raise NotAuthenticated("Sign in to the console.")
        now = self._clock.now()
        problem: str | None = None
        with self._tx.write() as tx:  # ending a stale session is kept: raise after the commit
            row = tx.console_sessions.get(token_hash(token))
            if row is None or row.ended_at is not None:
                raise NotAuthenticated("Your console session ended; sign in again.")
            account = tx.accounts.get(row.account_id)
            current = None if account is None or account.revoked_at is not None else api_key_id(account.api_key_hash)
            if current != row.api_key_id:
                problem = "The API key of this session was revoked or rotated; sign in again."
            elif now - row.last_seen_at > self._idle:
                problem = "Your console session expired; sign in again."
            if problem is not None:
                row.ended_at = now
            elif (now - row.last_seen_at).total_seconds() >= TOUCH_EVERY_S:
                row.last_seen_at = now
            user = ConsoleUser(row.account_id, row.api_key_id, csrf_token(token))
        if problem is not None:
            raise NotAuthenticated(problem)
        return user

    def sign_out(self, token: str | None) -> None:
        if not token:
            return
        with self._tx.write() as tx:
            row = tx.console_sessions.get(token_hash(token))
            if row is not None and row.ended_at is None:
                row.ended_at = self._clock.now()

    @staticmethod
    def csrf_ok(user: ConsoleUser, sent: str | None) -> bool:
        return bool(sent) and hmac.compare_digest(user.csrf, sent or "")
