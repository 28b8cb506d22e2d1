"""In-memory implementations of the domain's ports, for unit tests of services (no database, no
S3, no disk). Only the queries the tested use cases make are implemented; a transaction does not
roll back (the use cases under test raise before they write)."""

from __future__ import annotations

import hashlib
import io
import itertools
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from meetstore.domain.audit import GENESIS, AuditEntry, EncodedEntry, chain
from meetstore.domain.ports import MultipartCleanup, SpoolFile
from meetstore.domain.read_queries import BotWithArtifact
from meetstore.domain.records import BotRecord
from meetstore.domain.repositories import NewArtifact, NewBot
from meetstore.domain.storage_target import ActiveStorage


@dataclass
class Account:
    id: str
    name: str = "acme"
    api_key_hash: str = ""
    webhook_secret_ct: bytes = b""
    storage_version_seq: int = 0
    external_id: str | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    revoked_at: datetime | None = None
    retention: dict[str, Any] | None = None
    audit_head: str | None = None


@dataclass
class StorageConfig:
    account_id: str
    bucket_name: str
    region: str = "us-east-1"
    endpoint_url: str | None = None
    access_mode: str = "read_write"
    version: int = 1
    provider: str = "aws"
    prefix: str = "meetstream"
    prefix_audio: str = "meetstream"
    prefix_video: str = "meetstream"
    prefix_transcript: str = "meetstream"
    prefix_metadata: str = "meetstream"
    access_key_id_ct: bytes | None = b"ak"
    secret_key_ct: bytes | None = b"sk"
    extra: dict[str, Any] = field(default_factory=dict)
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    validated_at: datetime = field(default_factory=lambda: datetime.now(UTC))


@dataclass
class Bot:
    id: str
    account_id: str
    transcript_id: str = "00000000-0000-4000-8000-000000000001"
    transcript_provider: str = "meetstream"
    meeting_link: str = "https://meet.example.com/abc"
    bot_name: str = "Notetaker"
    status: str = "Recording"
    callback_url: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    idempotency_key: str | None = None
    runtime: str = "simulated"
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    left_at: datetime | None = None
    done_at: datetime | None = None
    pin_kind: str | None = None
    pin_bucket: str | None = None
    pin_region: str | None = None
    pin_endpoint_url: str | None = None
    pin_config_version: int | None = None
    pin_prefixes: dict[str, Any] | None = None
    pinned_at: datetime | None = None
    meeting_data: dict[str, Any] | None = None
    runtime_seen_at: datetime | None = None
    runtime_credential_hash: str | None = None
    deletion_requested_at: datetime | None = None
    deletion_reason: str | None = None
    deletion: dict[str, Any] | None = None
    retention_hours: float | None = None
    retention_expires_at: datetime | None = None
    controls: dict[str, Any] | None = None
    timeline: dict[str, Any] | None = None
    join_at: datetime | None = None


@dataclass
class Artifact:
    id: int
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
    attempts: int = 0
    next_attempt_at: datetime | None = None
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    last_error_code: str | None = None
    last_error_operation: str | None = None
    last_error_message: str | None = None
    uploaded_at: datetime | None = None
    spool_deleted: bool = False
    taken_at_s: float | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    failed_at: datetime | None = None
    multipart_upload_id: str | None = None


@dataclass
class WebhookEvent:
    id: int
    account_id: str
    bot_id: str | None
    event: str
    callback_url: str
    body: str
    state: str = "pending"
    attempts: int = 0
    next_attempt_at: datetime | None = None
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    last_status: int | None = None
    last_error: str | None = None
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    delivered_at: datetime | None = None


class Database:
    """The rows, shared by every transaction."""

    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.configs: dict[str, StorageConfig] = {}
        self.bots: dict[str, Bot] = {}
        self.artifacts: list[Artifact] = []
        self.events: list[WebhookEvent] = []
        self.changes: list[tuple[int, str, str, datetime]] = []
        self.audit: list[AuditRow] = []
        self.ids = itertools.count(1)
        self.lock = threading.RLock()


class Accounts:
    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, account_id: str, *, lock: bool = False) -> Account | None:
        return self._db.accounts.get(account_id)


class StorageConfigs:
    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, account_id: str, *, lock: bool = False) -> StorageConfig | None:
        return self._db.configs.get(account_id)

    def with_external_id(self, account_id: str) -> tuple[StorageConfig, str | None] | None:
        row = self._db.configs.get(account_id)
        account = self._db.accounts.get(account_id)
        return None if row is None else (row, account.external_id if account else None)


class Bots:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, bot: NewBot) -> Bot:
        row = Bot(id=bot.id, account_id=bot.account_id, status=bot.status, callback_url=bot.callback_url)
        self._db.bots[row.id] = row
        return row

    def get(self, bot_id: str, *, lock: bool = False) -> Bot | None:
        return self._db.bots.get(bot_id)

    def locked(self, bot_id: str) -> Bot:
        return self._db.bots[bot_id]

    def of_account(self, bot_id: str, account_id: str, *, lock: bool = False) -> Bot | None:
        bot = self._db.bots.get(bot_id)
        return bot if bot is not None and bot.account_id == account_id else None


class Artifacts:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, artifacts: Sequence[NewArtifact]) -> None:
        for a in artifacts:
            self._db.artifacts.append(
                Artifact(
                    id=next(self._db.ids),
                    bot_id=a.bot_id,
                    account_id=a.account_id,
                    kind=a.kind,
                    category=a.category,
                    seq=a.seq,
                    participant=a.participant,
                    spool_name=a.spool_name,
                    key=a.key,
                    content_type=a.content_type,
                    size=a.size,
                    sha256=a.sha256,
                    state=a.state,
                    next_attempt_at=a.now,
                    taken_at_s=a.taken_at_s,
                    created_at=a.now,
                )
            )

    def of_bot(self, bot_id: str) -> list[Artifact]:
        rows = [a for a in self._db.artifacts if a.bot_id == bot_id]
        return sorted(rows, key=lambda a: (a.kind, a.seq, a.participant, a.id))

    def count_of_bot(self, bot_id: str, state: str | None = None) -> int:
        return sum(1 for a in self.of_bot(bot_id) if state is None or a.state == state)

    def failed_of_bot(self, bot_id: str) -> list[Artifact]:
        return [a for a in self.of_bot(bot_id) if a.state == "failed"]


class WebhookEvents:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(
        self, *, account_id: str, bot_id: str | None, event: str, callback_url: str, body: str, now: datetime
    ) -> WebhookEvent:
        row = WebhookEvent(
            next(self._db.ids), account_id, bot_id, event, callback_url, body, next_attempt_at=now
        )
        self._db.events.append(row)
        return row


class Changes:
    def __init__(self, db: Database) -> None:
        self._db = db

    def record(self, account_id: str, what: str, now: datetime) -> None:
        self._db.changes.append((next(self._db.ids), account_id, what, now))

    def latest(self) -> int:
        return self._db.changes[-1][0] if self._db.changes else 0

    def since(self, after: int, limit: int) -> list[tuple[int, str, str]]:
        return [(i, a, w) for i, a, w, _ in self._db.changes if i > after][:limit]

    def prune(self, before: datetime) -> int:
        kept = [c for c in self._db.changes if c[3] >= before]
        pruned = len(self._db.changes) - len(kept)
        self._db.changes = kept
        return pruned


@dataclass
class AuditRow:
    id: int
    account_id: str
    at: datetime
    action: str
    actor: dict[str, Any]
    bot_id: str | None
    detail: dict[str, Any]
    prev_hash: str
    hash: str


class Audit:
    def __init__(self, db: Database) -> None:
        self._db = db

    def append(self, account_id: str, entries: Sequence[AuditEntry | EncodedEntry]) -> int:
        account = self._db.accounts.get(account_id)
        if account is None or not entries:
            return 0
        for e in chain(account.audit_head or GENESIS, entries):
            row = AuditRow(
                next(self._db.ids),
                account_id,
                e.at,
                e.action,
                dict(e.actor),
                e.bot_id,
                e.detail,
                e.prev_hash,
                e.hash,
            )
            self._db.audit.append(row)
            account.audit_head = e.hash
        return len(entries)

    def page(
        self,
        account_id: str,
        *,
        before_id: int | None,
        limit: int,
        bot_id: str | None = None,
        action: str | None = None,
    ) -> list[AuditRow]:
        rows = [
            r
            for r in reversed(self._db.audit)
            if r.account_id == account_id
            and (before_id is None or r.id < before_id)
            and (bot_id is None or r.bot_id == bot_id)
            and (action is None or r.action == action)
        ]
        return rows[:limit]

    def since(
        self, account_id: str, since: datetime | None, *, after_id: int = 0, limit: int
    ) -> list[AuditRow]:
        rows = [
            r
            for r in self._db.audit
            if r.account_id == account_id and r.id > after_id and (since is None or r.at >= since)
        ]
        return rows[:limit]

    def drop_older_than(self, cutoff: datetime) -> int:
        kept = [r for r in self._db.audit if r.at >= cutoff]
        dropped = len(self._db.audit) - len(kept)
        self._db.audit = kept
        return dropped


class Transaction:
    def __init__(self, db: Database) -> None:
        self.audit = Audit(db)
        self.changes = Changes(db)
        self.accounts = Accounts(db)
        self.storage_configs = StorageConfigs(db)
        self.bots = Bots(db)
        self.artifacts = Artifacts(db)
        self.webhook_events = WebhookEvents(db)

    def flush(self) -> None:
        return None


class Transactions:
    """The Transactions port over a `Database` (transactions take turns, like SQLite's)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    @contextmanager
    def write(self) -> Iterator[Transaction]:
        with self.db.lock:
            yield Transaction(self.db)

    @contextmanager
    def read(self) -> Iterator[Transaction]:
        with self.db.lock:
            yield Transaction(self.db)

    def scrub(self) -> None:
        return None  # nothing outlives a deleted dict entry


class Reads:
    """The FetchQueries port over a `Database`."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def bot_with_first(self, bot_id: str, account_id: str, kind: str) -> BotWithArtifact | None:
        bot = self._db.bots.get(bot_id)
        if bot is None or bot.account_id != account_id:
            return None
        rows = sorted(
            (a for a in self._db.artifacts if a.bot_id == bot_id and a.kind == kind), key=lambda a: a.seq
        )
        account = self._db.accounts.get(account_id)
        return BotWithArtifact(
            bot=bot,
            artifact=rows[0] if rows else None,
            config=self._db.configs.get(account_id),
            external_id=account.external_id if account else None,
        )


class Writer:
    def __init__(self, spool: Spool, bot_id: str, name: str) -> None:
        self.bot_id = bot_id
        self.name = name
        self.size = 0
        self.sha256 = ""
        self._spool = spool
        self._data = bytearray()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._data += data
        self.size = len(self._data)

    def finish(self) -> None:
        self.sha256 = hashlib.sha256(self._data).hexdigest()

    def abort(self) -> None:
        self._data.clear()


class Reader(io.BytesIO):
    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.size = len(data)

    def clone(self) -> Reader:
        return Reader(self.getvalue())


class SpoolKeys:
    """Every bot's key is 32 bytes of its id: the in-memory spool does not encrypt."""

    def data_key(self, account_id: str, bot_id: str, *, create: bool = False) -> bytes:
        return bot_id.encode()[:32].ljust(32, b"k")


class Spool:
    """The Spool port over a dict of (bot id, name) → bytes."""

    def __init__(self) -> None:
        self.blobs: dict[tuple[str, str], bytes] = {}

    def put(self, bot_id: str, name: str, data: bytes) -> None:
        self.blobs[(bot_id, name)] = data

    def begin(self, bot_id: str, name: str, key: bytes) -> Writer:
        return Writer(self, bot_id, name)

    def commit(self, writer: Any) -> bool:
        replaced = (writer.bot_id, writer.name) in self.blobs
        self.blobs[(writer.bot_id, writer.name)] = bytes(writer._data)
        return replaced

    def files_of(self, bot_id: str) -> dict[str, bytes]:
        return {name: data for (b, name), data in self.blobs.items() if b == bot_id}

    def files(self, bot_id: str, accept: Callable[[str], bool], key: bytes) -> dict[str, SpoolFile]:
        return {
            name: SpoolFile(name, len(data), hashlib.sha256(data).hexdigest())
            for name, data in self.files_of(bot_id).items()
            if accept(name)
        }

    def write_small(self, bot_id: str, name: str, data: bytes, key: bytes) -> SpoolFile:
        self.put(bot_id, name, data)
        return SpoolFile(name, len(data), hashlib.sha256(data).hexdigest())

    def read_small(self, bot_id: str, name: str, max_bytes: int, key: bytes) -> bytes | None:
        data = self.files_of(bot_id).get(name)
        return None if data is None or len(data) > max_bytes else data

    def open(self, bot_id: str, name: str, key: bytes) -> Reader:
        data = self.blobs.get((bot_id, name))
        if data is None:
            raise FileNotFoundError(name)
        return Reader(data)

    def exists(self, bot_id: str, name: str) -> bool:
        return (bot_id, name) in self.blobs

    def delete(self, bot_id: str, name: str) -> None:
        self.blobs.pop((bot_id, name), None)

    def remove_bot(self, bot_id: str) -> None:
        for key in [k for k in self.blobs if k[0] == bot_id]:
            del self.blobs[key]


class ObjectStore:
    """A store that signs recognisable URLs and holds objects in a dict."""

    def __init__(self, bucket: str) -> None:
        self._bucket = bucket
        self.objects: dict[str, bytes] = {}

    @property
    def bucket(self) -> str:
        return self._bucket

    @property
    def multipart(self) -> MultipartCleanup | None:
        return None

    def upload_stream(self, stream: Any, key: str, **_kwargs: Any) -> None:
        stream.seek(0)
        self.objects[key] = stream.read()

    def presign_get(self, key: str, expires_in: int) -> str:
        return f"https://{self._bucket}.example/{key}?expires={expires_in}"

    def read_bytes(self, key: str, max_bytes: int) -> bytes:
        return self.objects[key][:max_bytes]


class Stores:
    def __init__(self) -> None:
        self.platform = ObjectStore("platform")
        self.platform_region = "local"
        self.platform_signs_locally = True
        self.platform_endpoint_url: str | None = None
        self.custom_stores: dict[str, ObjectStore] = {}

    def platform_prefix(self, account_id: str) -> str:
        return f"accounts/{account_id}/meetstream"

    def custom(self, active: ActiveStorage) -> ObjectStore:
        return self.custom_stores.setdefault(active.target.bucket, ObjectStore(active.target.bucket))

    def custom_if_ready(self, active: ActiveStorage) -> ObjectStore | None:
        return self.custom_stores.get(active.target.bucket)

    def forget(self, account_id: str) -> None:
        return None


class MediaProbe:
    def video_info(self, stream: Any) -> dict[str, Any] | None:
        return None


class Metrics:
    def __init__(self) -> None:
        self.fetches: list[tuple[str, str]] = []

    def upload_finished(self, outcome: str, size: int, seconds: float) -> None:
        return None

    def fetch_answered(self, endpoint: str, code: str) -> None:
        self.fetches.append((endpoint, code))

    def webhook_attempted(self, state: str) -> None:
        return None

    def validation_ran(self, kind: str, ok: bool, seconds: float) -> None:
        return None


class Clock:
    def __init__(self, start: datetime | None = None) -> None:
        self.at = start or datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.at

    def advance(self, seconds: float) -> None:
        self.at += timedelta(seconds=seconds)


def bot_of(db: Database, bot_id: str) -> BotRecord:
    return db.bots[bot_id]
