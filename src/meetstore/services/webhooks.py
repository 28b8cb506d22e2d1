"""Webhook delivery over the `webhook_events` outbox: claim, sign, send, retry with backoff, dead.

Rows are written by `services/events.emit` in the transaction of the change that causes them. A
delivery worker claims rows here (a lease, like the upload outbox; FOR UPDATE SKIP LOCKED on
PostgreSQL, SQLite's BEGIN IMMEDIATE serialises claimers), hands each to a `Sender` (the HTTP
side lives in `worker/webhooks.py`) and records the outcome.

Rules:
- Per-bot order: an event is claimable only when every earlier event (lower id) of its bot is
  delivered or dead, so a receiver sees a bot's events in the order they happened, `bot.done` last.
- One receiver at a time: at most one delivery is in flight per (account, callback host), so a
  slow or dead receiver holds one delivery thread at most, never the others' events.
- 2xx is delivered; anything else (a redirect too: none is followed) or a network error is retried
  with exponential backoff and jitter until the event is older than `webhook_max_age_s`, then dead.
- The callback URL is checked again at delivery time (DNS rebinding): when private addresses are
  not allowed, the host is resolved, every address checked, and the connection pinned to a checked
  address. A refused URL makes the event dead at once, with the reason.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

from meetstore.adapters.net_guard import check_url_allowed, parse_http_url, resolve
from meetstore.config import Settings
from meetstore.domain.backoff import backoff_delay
from meetstore.domain.clock import SystemClock
from meetstore.domain.ports import Metrics
from meetstore.domain.records import WebhookEventRecord
from meetstore.domain.repositories import Transaction, Transactions
from meetstore.errors import EndpointNotAllowed, InvalidRequest, NotFound
from meetstore.services.accounts import AccountService

log = logging.getLogger("meetstore.webhooks")

PENDING = "pending"
DELIVERED = "delivered"
DEAD = "dead"

CONNECT_TIMEOUT_S = 5.0
TOTAL_TIMEOUT_S = 10.0
"""An attempt never takes longer than this, connect included."""

SIGNATURE_HEADER = "X-MeetStream-Signature"
EVENT_HEADER = "X-MeetStream-Event"
DELIVERY_HEADER = "X-MeetStream-Delivery"
ATTEMPT_HEADER = "X-MeetStream-Attempt"

MAX_ERROR_CHARS = 300


def sign(body: bytes, secret: str) -> str:
    """The `X-MeetStream-Signature` value: `sha256=<hex HMAC-SHA256(body, secret)>` (the whole
    secret string is the key, as the MeetStream SDK verifies it)."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


STANDARD_ID_HEADER = "webhook-id"
STANDARD_TIMESTAMP_HEADER = "webhook-timestamp"
STANDARD_SIGNATURE_HEADER = "webhook-signature"


def standard_key(secret: str) -> bytes:
    """The HMAC key of `webhook-signature`: the base64 after `whsec_` (Standard Webhooks). A
    secret issued before secrets had that form is used as its UTF-8 bytes; rotating it gives one
    that Standard Webhooks libraries accept."""
    encoded = secret.removeprefix("whsec_")
    try:
        return base64.b64decode(encoded, validate=True)
    except ValueError:
        return encoded.encode("utf-8")


def sign_standard(body: bytes, secret: str, msg_id: str, timestamp: int) -> str:
    """The `webhook-signature` value: `v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`.
    The timestamp is signed, so a captured delivery stops verifying once receivers judge it old."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(standard_key(secret), signed, hashlib.sha256).digest()).decode()


def receiver_key(account_id: str, url: str) -> str:
    """Deliveries with the same key go to the same receiver; one of them is in flight at a time."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return f"{account_id}|{url}"
    return f"{account_id}|{host}:{port}"


@dataclass(frozen=True)
class Delivery:
    """A claimed event: what to send, and the lease that makes this worker its only sender."""

    id: int
    account_id: str
    bot_id: str | None
    event: str
    callback_url: str
    body: bytes
    attempts: int
    created_at: datetime
    lease_owner: str


@dataclass(frozen=True)
class Target:
    """Where to connect: `url` (the host maybe replaced by a checked IP address), plus the Host
    header and TLS server name that keep the original host visible to the receiver."""

    url: str
    host_header: str | None = None
    sni_hostname: str | None = None


@dataclass(frozen=True)
class Outcome:
    """One HTTP attempt: the status the receiver answered, or the network error."""

    status: int | None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


@dataclass(frozen=True)
class SignedRequest:
    target: Target
    headers: dict[str, str]
    body: bytes


Sender = Callable[[SignedRequest], Outcome]
"""Sends one request (POST, no redirects followed, connect 5 s, total 10 s) and reports."""


class DeliveryRefused(Exception):
    """The callback URL may not be called any more (private address, malformed)."""


def _format_host(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    return f"[{addr}]" if isinstance(addr, ipaddress.IPv6Address) else str(addr)


def pin_url(url: str, addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> Target:
    """`url` with its host replaced by `addr`; Host header and SNI keep the original name."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = _format_host(addr) + (f":{parts.port}" if parts.port is not None else "")
    pinned = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    return Target(
        url=pinned,
        host_header=parts.netloc,
        sni_hostname=host if parts.scheme == "https" else None,
    )


def delivery_target(url: str, *, allow_private: bool) -> Target:
    """Check `url` again now and say where to connect.

    Raises DeliveryRefused (the event is dead) for a malformed URL or one that resolves to a
    private address while those are not allowed; OSError when the host does not resolve (retry).
    """
    try:
        check_url_allowed(url, "callback_url", allow_private=allow_private)
        if allow_private:
            return Target(url=url)
        scheme, host, port = parse_http_url(url, "callback_url")
        try:
            ipaddress.ip_address(host)
        except ValueError:
            pass
        else:
            return Target(url=url)  # a literal address, checked above
        addresses = resolve(host, port)
        if not addresses:
            raise OSError(f"{host} has no address")
        for addr in addresses:
            # Every address the name resolves to now must be public; then connect to one of them.
            check_url_allowed(f"{scheme}://{_format_host(addr)}:{port}/", "callback_url", allow_private=False)
        return pin_url(url, addresses[0])
    except (EndpointNotAllowed, InvalidRequest) as exc:
        raise DeliveryRefused(exc.message) from exc


def _clip(text: str) -> str:
    return text if len(text) <= MAX_ERROR_CHARS else text[: MAX_ERROR_CHARS - 1] + "…"


class WebhookService:
    def __init__(self, tx: Transactions, settings: Settings, accounts: AccountService, metrics: Metrics) -> None:
        self._tx = tx
        self._metrics = metrics
        self._settings = settings
        self._accounts = accounts
        self._clock = SystemClock()

    # ---- identity and timing -------------------------------------------------------------------

    @staticmethod
    def new_owner() -> str:
        """A lease owner id for one worker (host, pid, random)."""
        return f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:12]}"

    @property
    def lease_seconds(self) -> float:
        """Longer than any attempt, so a live worker never loses a lease mid-delivery."""
        return max(self._settings.lease_seconds, 2 * TOTAL_TIMEOUT_S)

    # ---- claim ---------------------------------------------------------------------------------

    def claim(self, owner: str, limit: int, *, now: datetime | None = None) -> list[Delivery]:
        """Lease up to `limit` due events: each the oldest open event of its bot, at most one per
        receiver (none for a receiver that already has a delivery in flight)."""
        if limit <= 0:
            return []
        at = now or self._clock.now()
        claimed: list[Delivery] = []
        expires = at + timedelta(seconds=self.lease_seconds)
        with self._tx.write() as tx:
            busy = {receiver_key(a, u) for a, u in tx.webhook_events.receivers_in_flight(at)}
            for row in tx.webhook_events.claimable(at, limit):
                key = receiver_key(row.account_id, row.callback_url)
                if key in busy:
                    continue
                busy.add(key)
                tx.webhook_events.lease(row, owner, expires)
                claimed.append(
                    Delivery(
                        id=row.id,
                        account_id=row.account_id,
                        bot_id=row.bot_id,
                        event=row.event,
                        callback_url=row.callback_url,
                        body=row.body.encode("utf-8"),
                        attempts=row.attempts,
                        created_at=row.created_at,
                        lease_owner=owner,
                    )
                )
                if len(claimed) >= limit:
                    break
        return claimed

    # ---- one attempt ---------------------------------------------------------------------------

    def prepare(self, delivery: Delivery) -> SignedRequest:
        """The request to send: the stored body as is, signed with the account's secret now."""
        target = delivery_target(delivery.callback_url, allow_private=self._settings.allow_private_endpoints)
        secret = self._accounts.webhook_secret(delivery.account_id)
        msg_id = str(delivery.id)
        timestamp = int(self._clock.now().timestamp())  # this attempt's: every retry is signed afresh
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(delivery.body, secret),
            EVENT_HEADER: delivery.event,
            DELIVERY_HEADER: msg_id,
            ATTEMPT_HEADER: str(delivery.attempts + 1),
            STANDARD_ID_HEADER: msg_id,
            STANDARD_TIMESTAMP_HEADER: str(timestamp),
            STANDARD_SIGNATURE_HEADER: sign_standard(delivery.body, secret, msg_id, timestamp),
        }
        return SignedRequest(target=target, headers=headers, body=delivery.body)

    def deliver(self, delivery: Delivery, send: Sender) -> str:
        """Make one attempt at `delivery` and record it; returns the event's state afterwards."""
        state = self._attempt(delivery, send)
        self._metrics.webhook_attempted(state)
        return state

    def _attempt(self, delivery: Delivery, send: Sender) -> str:
        try:
            request = self.prepare(delivery)
        except DeliveryRefused as exc:
            log.warning("webhook %s (%s) refused: %s", delivery.id, delivery.event, exc)
            return self.mark_dead(delivery, f"callback_url refused: {exc}")
        except NotFound:
            return self.mark_dead(delivery, "the account no longer exists")
        except OSError as exc:
            return self.record(delivery, Outcome(None, f"could not resolve the callback host: {exc}"))
        outcome = send(request)
        state = self.record(delivery, outcome)
        if not outcome.ok:
            log.info(
                "webhook %s (%s, bot %s) attempt %d failed: %s → %s",
                delivery.id,
                delivery.event,
                delivery.bot_id,
                delivery.attempts + 1,
                outcome.error or f"HTTP {outcome.status}",
                state,
            )
        return state

    # ---- outcomes ------------------------------------------------------------------------------

    @staticmethod
    def _leased_row(tx: Transaction, delivery: Delivery) -> WebhookEventRecord | None:
        """The event, locked, while this delivery's lease still holds (else someone else has it)."""
        return tx.webhook_events.fenced(delivery.id, delivery.lease_owner)

    def record(self, delivery: Delivery, outcome: Outcome, *, now: datetime | None = None) -> str:
        """Delivered on 2xx; otherwise attempts+1 and retry later, or dead when too old."""
        at = now or self._clock.now()
        deadline = delivery.created_at + timedelta(seconds=self._settings.webhook_max_age_s)
        with self._tx.write() as tx:
            row = self._leased_row(tx, delivery)
            if row is None:
                return "lost"
            row.attempts += 1
            row.last_status = outcome.status
            tx.webhook_events.end_lease(row)
            if outcome.ok:
                row.state = DELIVERED
                row.delivered_at = at
                row.last_error = None
                row.next_attempt_at = None
                return DELIVERED
            row.last_error = _clip(outcome.error or f"HTTP {outcome.status}")
            if at >= deadline:
                row.state = DEAD
                row.next_attempt_at = None
                return DEAD
            delay = backoff_delay(
                row.attempts, self._settings.webhook_backoff_base_s, self._settings.webhook_backoff_max_s
            )
            # The last try falls on the deadline, so an event is tried for its whole lifetime.
            row.next_attempt_at = min(at + timedelta(seconds=delay), deadline)
            return PENDING

    def mark_dead(self, delivery: Delivery, reason: str) -> str:
        with self._tx.write() as tx:
            row = self._leased_row(tx, delivery)
            if row is None:
                return "lost"
            row.state = DEAD
            row.last_error = _clip(reason)
            tx.webhook_events.end_lease(row)
            row.next_attempt_at = None
            return DEAD

    def release(self, deliveries: list[Delivery]) -> None:
        """Give leases back without counting an attempt (a worker stopping mid-way)."""
        if not deliveries:
            return
        with self._tx.write() as tx:
            for owner in {d.lease_owner for d in deliveries}:
                tx.webhook_events.release(owner, [d.id for d in deliveries if d.lease_owner == owner])
