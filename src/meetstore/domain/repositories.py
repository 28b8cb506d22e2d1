"""The repository ports: every query a service makes, by name, and the transaction they run in.

`adapters/db/repositories` implements them over SQLAlchemy; unit tests of services implement
them in memory. A `Transaction` commits when its `with` block ends without an error and rolls back
otherwise; a database outage surfaces as `errors.Unavailable`.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from meetstore.domain.audit import AuditEntry, EncodedEntry
from meetstore.domain.process_queries import ChangeQueries, HeartbeatQueries, SpoolKeyQueries
from meetstore.domain.records import (
    AccountRecord,
    ArtifactRecord,
    AuditEventRecord,
    BotRecord,
    ConsoleSessionRecord,
    ErasureRecord,
    StorageConfigRecord,
    WebhookEventRecord,
)


class AccountQueries(Protocol):
    def add(
        self, *, id: str, name: str, api_key_hash: str, webhook_secret_ct: bytes, now: datetime
    ) -> None: ...

    def get(self, account_id: str, *, lock: bool = False) -> AccountRecord | None: ...

    def key_owner(self, api_key_hash: str) -> tuple[str, datetime | None] | None:
        """(account id, revoked_at) of an API key's hash."""
        ...

    def count(self) -> int: ...

    def ids(self) -> list[str]: ...


class StorageConfigQueries(Protocol):
    def get(self, account_id: str, *, lock: bool = False) -> StorageConfigRecord | None: ...

    def with_external_id(self, account_id: str) -> tuple[StorageConfigRecord, str | None] | None:
        """The configuration in force and the account's external id, in one read."""
        ...

    def new(self, account_id: str) -> StorageConfigRecord:
        """A new row for the account, added to the transaction (fields set by the caller)."""
        ...

    def delete(self, row: StorageConfigRecord) -> None: ...

    def account_ids(self) -> list[str]: ...

    def count(self) -> int: ...


@dataclass(frozen=True)
class NewBot:
    id: str
    account_id: str
    transcript_id: str
    transcript_provider: str
    meeting_link: str
    bot_name: str
    status: str
    callback_url: str | None
    options: dict[str, Any]
    idempotency_key: str | None
    runtime: str
    now: datetime
    join_at: datetime | None = None


class DuplicateIdempotencyKey(Exception):
    """Another bot of the account was created with the same Idempotency-Key meanwhile."""


class BotQueries(Protocol):
    def add(self, bot: NewBot) -> BotRecord:
        """Insert now; DuplicateIdempotencyKey when the key is taken."""
        ...

    def get(self, bot_id: str, *, lock: bool = False) -> BotRecord | None: ...

    def locked(self, bot_id: str) -> BotRecord:
        """The bot, locked: serialises "is this its last artifact?" between upload threads."""
        ...

    def of_account(self, bot_id: str, account_id: str, *, lock: bool = False) -> BotRecord | None: ...

    def by_ids(self, ids: Sequence[str]) -> list[BotRecord]: ...

    def by_idempotency_key(self, account_id: str, key: str) -> BotRecord | None: ...

    def by_transcript(self, transcript_id: str, account_id: str) -> BotRecord | None: ...

    def waiting_for_runtime(
        self,
        runtime: str,
        status: str,
        unseen_since: datetime,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[BotRecord]:
        """Bots of `runtime` ("external" or "simulated") in `status` that have not left and whose
        claim (if any) lapsed: no runtime seen since `unseen_since`. Oldest first."""
        ...

    def count_in(self, account_id: str, statuses: Sequence[str]) -> int:
        """The account's bots whose status is one of `statuses`."""
        ...

    def page(
        self,
        account_id: str,
        after: tuple[datetime, str] | None,
        limit: int,
        *,
        status: str | None = None,
        with_failed_uploads: bool = False,
    ) -> list[BotRecord]:
        """Newest first, continuing after (created_at, id); `limit` rows at most; only bots in
        `status`, or with a failed upload, when asked."""
        ...

    def due_to_join(self, now: datetime, limit: int) -> list[BotRecord]:
        """Scheduled bots whose join time has come, locked."""
        ...

    def simulated_queue(self, unseen_since: datetime, limit: int) -> list[str]:
        """Simulated bots a worker may claim, oldest first: Joining ones with no live claim (none
        yet, or its runtime not seen since `unseen_since`), and ones told to leave before any
        worker claimed them (they are handed in, with no media)."""
        ...

    def stale_live(self, statuses: Sequence[str], cutoff: datetime, limit: int) -> list[str]:
        """Bots not handed in, in `statuses`, whose runtime was last seen before `cutoff`; not the
        simulated bots in the workers' queue (`simulated_queue`): no runtime of theirs died."""
        ...

    def touch_runtime(self, ids: Sequence[str], now: datetime) -> int:
        """Record that the runtime of these (not handed-in) bots is alive; how many rows changed."""
        ...

    def retention_ended(self, now: datetime, limit: int) -> list[str]:
        """Bots whose pinned retention ran out by `now` and whose media is not erased yet."""
        ...


@dataclass(frozen=True)
class NewArtifact:
    bot_id: str
    account_id: str
    kind: str
    category: str
    seq: int
    participant: str
    spool_name: str
    key: str
    content_type: str
    size: int
    sha256: str
    state: str
    taken_at_s: float | None
    now: datetime


class ArtifactQueries(Protocol):
    def add(self, artifacts: Sequence[NewArtifact]) -> None: ...

    def claim_due(
        self, owner: str, limit: int, now: datetime, lease: timedelta
    ) -> list[tuple[ArtifactRecord, bool]]:
        """Lease up to `limit` due rows, oldest due first; each with whether it was taken over."""
        ...

    def fenced(self, artifact_id: int, owner: str) -> ArtifactRecord | None:
        """The row, locked, while `owner` holds its lease (None once the lease is lost)."""
        ...

    def renew(self, owner: str, ids: Sequence[int], expires_at: datetime) -> set[int]: ...

    def release(self, owner: str, ids: Sequence[int]) -> None: ...

    def set_multipart(self, artifact_id: int, owner: str, upload_id: str | None) -> bool: ...

    def count_of_bot(self, bot_id: str, state: str | None = None) -> int: ...

    def of_bot(self, bot_id: str) -> list[ArtifactRecord]:
        """Every artifact of a bot, by kind, number and participant."""
        ...

    def of_kinds(self, bot_id: str, kinds: Sequence[str]) -> list[ArtifactRecord]:
        """A bot's artifacts of these kinds, by kind, number and participant."""
        ...

    def first_of_kind(self, bot_id: str, kind: str) -> ArtifactRecord | None: ...

    def state_counts(self, bot_id: str, kind: str) -> dict[str, int]:
        """How many of a bot's artifacts of `kind` are in each upload state (one grouped count)."""
        ...

    def first_failed(self, bot_id: str, kind: str) -> ArtifactRecord | None: ...

    def page_of_kind(self, bot_id: str, kind: str, after_seq: int, limit: int) -> list[ArtifactRecord]:
        """Keyset page on (bot_id, kind, seq)."""
        ...

    def state_counts_of_bots(self, bot_ids: Sequence[str]) -> dict[str, dict[str, int]]:
        """bot id → upload state → how many of its artifacts are in it."""
        ...

    def failed_of_bot(self, bot_id: str) -> list[ArtifactRecord]:
        """A bot's failed artifacts, locked."""
        ...

    def kept_in_spool(self, bot_id: str) -> int: ...

    def mark_spool_deleted(self, ids: Sequence[int]) -> None: ...

    def spool_copies_due(self, failed_before: datetime, limit: int) -> list[ArtifactRecord]:
        """Spool copies no longer needed: of uploaded files, and of failed files whose retention ended."""
        ...

    def latest_live_lease(self, bot_id: str, now: datetime) -> datetime | None:
        """When the last lease still held on one of the bot's artifacts runs out (None: none is)."""
        ...


class WebhookEventQueries(Protocol):
    def add(
        self, *, account_id: str, bot_id: str | None, event: str, callback_url: str, body: str, now: datetime
    ) -> WebhookEventRecord: ...

    def of_bot(self, bot_id: str) -> list[WebhookEventRecord]: ...

    def claimable(self, now: datetime, limit: int) -> list[WebhookEventRecord]:
        """Due events, each the oldest open event of its bot, whose receiver has nothing in flight."""
        ...

    def receivers_in_flight(self, now: datetime) -> list[tuple[str, str]]:
        """(account id, callback URL) of every delivery under a live lease."""
        ...

    def lease(self, row: WebhookEventRecord, owner: str, expires_at: datetime) -> None: ...

    def end_lease(self, row: WebhookEventRecord) -> None: ...

    def fenced(self, event_id: int, owner: str) -> WebhookEventRecord | None: ...

    def release(self, owner: str, ids: Sequence[int]) -> None: ...

    def erase_of_bot(self, bot_id: str, now: datetime) -> int:
        """Empty the bot's stored payloads and give up its undelivered ones; how many rows."""
        ...


class ErasureQueries(Protocol):
    def add(
        self,
        *,
        bot_id: str,
        account_id: str,
        reason: str,
        scope: str,
        objects: dict[str, object],
        requested_by: dict[str, str | None] | None,
        now: datetime,
    ) -> ErasureRecord: ...

    def latest_of_bot(self, bot_id: str) -> ErasureRecord | None: ...

    def claim_due(
        self, owner: str, limit: int, now: datetime, lease: timedelta
    ) -> list[tuple[ErasureRecord, bool]]:
        """Lease up to `limit` due erasures; each with whether it was taken over."""
        ...

    def fenced(self, erasure_id: int, owner: str) -> ErasureRecord | None: ...

    def renew(self, owner: str, ids: Sequence[int], expires_at: datetime) -> set[int]: ...

    def release(self, owner: str, ids: Sequence[int]) -> None: ...


class AuditQueries(Protocol):
    def append(self, account_id: str, entries: Sequence[AuditEntry | EncodedEntry]) -> int:
        """Chain and store `entries` after the account's head (its row locked); 0 if it is gone."""
        ...

    def page(
        self,
        account_id: str,
        *,
        before_id: int | None,
        limit: int,
        bot_id: str | None = None,
        action: str | None = None,
    ) -> Sequence[AuditEventRecord]:
        """Newest first, ids below `before_id`."""
        ...

    def since(
        self, account_id: str, since: datetime | None, *, after_id: int = 0, limit: int
    ) -> Sequence[AuditEventRecord]:
        """Oldest first from `since`, ids above `after_id`."""
        ...

    def drop_older_than(self, cutoff: datetime) -> int: ...


class ConsoleSessionQueries(Protocol):
    def add(self, token_hash: str, account_id: str, api_key_id: str, now: datetime) -> None: ...

    def get(self, token_hash: str) -> ConsoleSessionRecord | None: ...

    def end_of_account(self, account_id: str, now: datetime) -> int:
        """End every open session of the account (its key was revoked or rotated)."""
        ...


class Transaction(Protocol):
    """One unit of work: every repository, on one database transaction."""

    @property
    def accounts(self) -> AccountQueries: ...

    @property
    def storage_configs(self) -> StorageConfigQueries: ...

    @property
    def bots(self) -> BotQueries: ...

    @property
    def artifacts(self) -> ArtifactQueries: ...

    @property
    def webhook_events(self) -> WebhookEventQueries: ...

    @property
    def erasures(self) -> ErasureQueries: ...

    @property
    def audit(self) -> AuditQueries: ...

    @property
    def heartbeats(self) -> HeartbeatQueries: ...

    @property
    def changes(self) -> ChangeQueries: ...

    @property
    def console_sessions(self) -> ConsoleSessionQueries: ...

    @property
    def spool_keys(self) -> SpoolKeyQueries: ...

    def flush(self) -> None: ...


class Transactions(Protocol):
    def write(self) -> AbstractContextManager[Transaction]:
        """A transaction that may write (rows it locks stay locked until it ends)."""
        ...

    def read(self) -> AbstractContextManager[Transaction]:
        """A transaction that only reads: cheaper; never write through it."""
        ...

    def scrub(self) -> None:
        """Make what committed transactions erased (credentials) unrecoverable from the
        database's files, where the engine keeps old versions of pages."""
        ...
