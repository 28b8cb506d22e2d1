"""The audit trail's entries and their hash chain (API.md "Audit trail").

Each account's entries form a chain: an entry's `hash` is the SHA-256 of the previous entry's hash
and the entry's own canonical JSON, so removing or editing an entry breaks every link after it
(`chain_breaks` finds where). The chain's head is kept on the account row and moved in the
transaction that appends, so two processes appending for one account are serialised by that row.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

GENESIS = "0" * 64
"""The `prev_hash` of an account's first entry."""

ACTIONS = (
    "storage.saved",
    "storage.validated",
    "storage.deleted",
    "storage.health_changed",
    "retention.saved",
    "retention.deleted",
    "url.issued",
    "uploads.retried",
    "data.deleted",
    "data.expired",
    "api_key.created",
    "api_key.revoked",
    "api_key.rotated",
    "webhook_secret.rotated",
    "console.signed_in",
    "auth.failed",
)


@dataclass(frozen=True, slots=True)
class Actor:
    """Who did it: the API key (by id, never the key) and the client's address; both None for the
    platform itself (retention expiry, the command line)."""

    api_key_id: str | None = None
    address: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {"api_key_id": self.api_key_id, "address": self.address}


SYSTEM = Actor()


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One entry before it is chained. `detail` never holds a credential."""

    at: datetime
    action: str
    actor: Actor = SYSTEM
    bot_id: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown audit action {self.action!r}")


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str)
"""What `json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)` builds on every
call, built once: the same bytes at half the cost (an encoder is stateless between calls)."""


def canonical(at: datetime, action: str, actor: Mapping[str, Any], bot_id: str | None, detail: Any) -> bytes:
    """The bytes an entry's hash covers (its id is the database's and is not part of them)."""
    doc = {"at": at.isoformat(), "action": action, "actor": dict(actor), "bot_id": bot_id, "detail": detail}
    return _CANONICAL.encode(doc).encode()


def link(prev_hash: str, body: bytes) -> str:
    return hashlib.sha256(prev_hash.encode() + body).hexdigest()


@dataclass(frozen=True, slots=True)
class EncodedEntry:
    """An entry with its JSON written: the bytes its hash covers and its actor and detail as
    stored. The buffered url.issued entries are encoded when they happen, on the request that
    issues the URL: the flush that writes a second's worth of them then only links and copies,
    instead of holding the GIL for the JSON of thousands at once (docs/performance.md)."""

    entry: AuditEntry
    body: bytes
    actor_json: str
    detail_json: str


@functools.lru_cache(maxsize=4096)
def actor_json(actor: Actor) -> str:
    """An actor's JSON as stored (one key's requests from one address repeat it: written once)."""
    return _CANONICAL.encode(actor.as_dict())


def encode(e: AuditEntry) -> EncodedEntry:
    """The entry's JSON, each part written once: `canonical`'s bytes are the document of sorted
    keys (action, actor, at, bot_id, detail) around the actor's and the detail's JSON, which the
    same encoder writes with their keys sorted as it would inside the whole document."""
    actor = actor_json(e.actor)
    detail = _CANONICAL.encode(dict(e.detail))
    body = (
        f'{{"action":{_CANONICAL.encode(e.action)},"actor":{actor},"at":{_CANONICAL.encode(e.at.isoformat())},'
        f'"bot_id":{_CANONICAL.encode(e.bot_id)},"detail":{detail}}}'
    )
    return EncodedEntry(e, body.encode(), actor, detail)


@dataclass(frozen=True, slots=True)
class ChainedEntry:
    """An entry as stored: what `canonical` covers plus the two hashes."""

    at: datetime
    action: str
    actor: Mapping[str, Any]
    bot_id: str | None
    detail: Any
    prev_hash: str
    hash: str


def encoded(entries: Iterable[AuditEntry | EncodedEntry]) -> list[EncodedEntry]:
    return [e if isinstance(e, EncodedEntry) else encode(e) for e in entries]


def links(prev_hash: str, entries: Iterable[EncodedEntry]) -> list[str]:
    """The hash of each entry in the chain after the head `prev_hash`, in order (each entry's own
    prev_hash is the hash before it)."""
    out: list[str] = []
    for e in entries:
        prev_hash = link(prev_hash, e.body)
        out.append(prev_hash)
    return out


def chain(prev_hash: str, entries: Iterable[AuditEntry | EncodedEntry]) -> list[ChainedEntry]:
    """`entries` linked after the head `prev_hash`, in order."""
    items = encoded(entries)
    hashes = links(prev_hash, items)
    return [
        ChainedEntry(e.entry.at, e.entry.action, e.entry.actor.as_dict(), e.entry.bot_id, dict(e.entry.detail), prev, h)
        for e, prev, h in zip(items, [prev_hash, *hashes], hashes, strict=False)
    ]


def chain_breaks(entries: Iterable[ChainedEntry]) -> list[int]:
    """Positions (oldest first) where the chain does not hold: an entry whose hash is not its own,
    or whose prev_hash is not the hash of the entry before it (a removed or inserted entry). The
    first entry's prev_hash is taken as given (older entries may have aged out)."""
    breaks: list[int] = []
    prev: str | None = None
    for n, e in enumerate(entries):
        if (prev is not None and e.prev_hash != prev) or link(
            e.prev_hash, canonical(e.at, e.action, e.actor, e.bot_id, e.detail)
        ) != e.hash:
            breaks.append(n)
        prev = e.hash
    return breaks
