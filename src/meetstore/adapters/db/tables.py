"""SQLAlchemy 2 tables. Alembic migrations in `meetstore/migrations` create them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every engine (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: dict[Any, Any] = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    api_key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    webhook_secret_ct: Mapped[bytes] = mapped_column(LargeBinary)
    storage_version_seq: Mapped[int] = mapped_column(Integer, default=0)
    external_id: Mapped[str | None] = mapped_column(String(128))
    """The random sts:ExternalId meetstore sends when it assumes this account's role."""
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    retention: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """The account's default retention ({"type": "timed", "hours": H} or {"type": "forever"});
    None: the platform default."""
    audit_head: Mapped[str | None] = mapped_column(String(64))
    """The hash of the account's newest audit entry (the chain's head; None before the first)."""
    api_key_created_at: Mapped[datetime | None]
    """When the key in force was made (None: with the account, before this was kept)."""


class StorageConfigRow(Base):
    """The account's storage configuration in force (at most one row per account)."""

    __tablename__ = "storage_configs"

    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    provider: Mapped[str] = mapped_column(String(16))
    bucket_name: Mapped[str] = mapped_column(String(63))
    region: Mapped[str] = mapped_column(String(32))
    endpoint_url: Mapped[str | None] = mapped_column(String(2048))
    access_mode: Mapped[str] = mapped_column(String(16))
    prefix: Mapped[str] = mapped_column(String(512))
    prefix_audio: Mapped[str] = mapped_column(String(512))
    prefix_video: Mapped[str] = mapped_column(String(512))
    prefix_transcript: Mapped[str] = mapped_column(String(512))
    prefix_metadata: Mapped[str] = mapped_column(String(512))
    access_key_id_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    secret_key_ct: Mapped[bytes | None] = mapped_column(LargeBinary)
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Optional features (role, encryption, health) that are not part of the base contract."""
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    validated_at: Mapped[datetime]


class Bot(Base):
    __tablename__ = "bots"
    __table_args__ = (
        UniqueConstraint("account_id", "idempotency_key", name="uq_bots_idempotency"),
        Index("ix_bots_account_created", "account_id", "created_at", "id"),
        Index("ix_bots_status_seen", "status", "runtime_seen_at"),
        Index("ix_bots_retention_expires", "retention_expires_at"),
        Index("ix_bots_scheduled", "status", "join_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("accounts.id"))
    transcript_id: Mapped[str] = mapped_column(String(36), unique=True)
    transcript_provider: Mapped[str] = mapped_column(String(64), default="meetstream")
    meeting_link: Mapped[str] = mapped_column(Text)
    bot_name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))
    callback_url: Mapped[str | None] = mapped_column(Text)
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    runtime: Mapped[str] = mapped_column(String(16), default="simulated")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    left_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    # The pin: where this bot's files were written. Set once, when the bot leaves; never changed.
    pin_kind: Mapped[str | None] = mapped_column(String(16))
    pin_bucket: Mapped[str | None] = mapped_column(String(255))
    pin_region: Mapped[str | None] = mapped_column(String(32))
    pin_endpoint_url: Mapped[str | None] = mapped_column(String(2048))
    pin_config_version: Mapped[int | None] = mapped_column(Integer)
    pin_prefixes: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    pinned_at: Mapped[datetime | None]
    meeting_data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """video_info, participants and speaker timeline, as the runtime reported them."""
    runtime_seen_at: Mapped[datetime | None]
    """When the bot's runtime last showed it is alive (simulator heartbeat, ingest API calls); a
    live bot whose runtime went silent is handed in by the upload worker's janitor."""
    runtime_credential_hash: Mapped[str | None] = mapped_column(String(64))
    """SHA-256 of the credential its runtime's claim was given (API.md "Runtime credentials"); the
    claim lives while the runtime is seen (`runtime_seen_at`)."""
    deletion_requested_at: Mapped[datetime | None]
    """When erasure of the bot's media was requested (or its retention ran out): from then on no
    artifact is uploaded and every fetch endpoint answers media_deleted / media_expired."""
    deletion_reason: Mapped[str | None] = mapped_column(String(16))
    deletion: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """The last erasure's receipt (API.md "Data lifecycle")."""
    retention_hours: Mapped[float | None] = mapped_column(Float)
    """The retention pinned at hand-in (None: kept forever)."""
    retention_expires_at: Mapped[datetime | None]
    controls: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """What the account did to the meeting while the bot was in it: pauses, messages, images
    (domain/live_controls.py)."""
    timeline: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    join_at: Mapped[datetime | None]
    """When a Scheduled bot joins (create_bot's `join_at`)."""
    """status → when the bot first reached it (domain/bot_status.py)."""


class Artifact(Base):
    """One file of a bot: the durable upload outbox row."""

    __tablename__ = "artifacts"
    __table_args__ = (
        UniqueConstraint("bot_id", "kind", "seq", "participant", name="uq_artifacts_identity"),
        Index("ix_artifacts_claim", "state", "next_attempt_at"),
        Index("ix_artifacts_bot_kind_seq", "bot_id", "kind", "seq"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    bot_id: Mapped[str] = mapped_column(ForeignKey("bots.id"))
    account_id: Mapped[str] = mapped_column(String(36))
    kind: Mapped[str] = mapped_column(String(32))
    category: Mapped[str] = mapped_column(String(16))
    seq: Mapped[int] = mapped_column(Integer, default=0)
    participant: Mapped[str] = mapped_column(String(64), default="")
    spool_name: Mapped[str] = mapped_column(String(255))
    key: Mapped[str] = mapped_column(String(1024))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None]
    last_error_code: Mapped[str | None] = mapped_column(String(64))
    last_error_operation: Mapped[str | None] = mapped_column(String(64))
    last_error_message: Mapped[str | None] = mapped_column(Text)
    uploaded_at: Mapped[datetime | None]
    spool_deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    taken_at_s: Mapped[float | None]
    created_at: Mapped[datetime]
    failed_at: Mapped[datetime | None]
    """When the upload failed for good (the spool retention of a failed file counts from here)."""
    multipart_upload_id: Mapped[str | None] = mapped_column(String(1024))
    """The open multipart upload of the attempt in flight; aborted by whoever takes the row over."""


class WebhookEvent(Base):
    """One webhook delivery: the delivery outbox row."""

    __tablename__ = "webhook_events"
    __table_args__ = (
        Index("ix_webhooks_claim", "state", "next_attempt_at"),
        Index("ix_webhooks_bot", "bot_id", "id"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    account_id: Mapped[str] = mapped_column(String(36))
    bot_id: Mapped[str | None] = mapped_column(String(36))
    event: Mapped[str] = mapped_column(String(64))
    callback_url: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    """The exact JSON bytes that are signed and sent."""
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None]
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class Erasure(Base):
    """One erasure of a bot's media: the erasure outbox row (leased, retried, resumable)."""

    __tablename__ = "erasures"
    __table_args__ = (
        Index("ix_erasures_claim", "state", "next_attempt_at"),
        Index("ix_erasures_bot", "bot_id", "id"),
    )

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    bot_id: Mapped[str] = mapped_column(ForeignKey("bots.id"))
    account_id: Mapped[str] = mapped_column(String(36))
    reason: Mapped[str] = mapped_column(String(16))
    scope: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None]
    objects: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """location → what happened to it so far (kept as it goes, so a resumed erasure knows)."""
    requested_at: Mapped[datetime]
    requested_by: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    """The audit actor who asked (None for a retention expiry)."""
    finished_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


class AuditEvent(Base):
    """One entry of an account's audit trail, chained to the one before (domain/audit.py)."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_account", "account_id", "id"), Index("ix_audit_at", "at"))

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    account_id: Mapped[str] = mapped_column(String(36))
    at: Mapped[datetime]
    action: Mapped[str] = mapped_column(String(40))
    actor: Mapped[dict[str, Any]] = mapped_column(JSON)
    bot_id: Mapped[str | None] = mapped_column(String(36))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class WorkerHeartbeat(Base):
    __tablename__ = "worker_heartbeats"

    worker_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    seen_at: Mapped[datetime]


class AccountChange(Base):
    """One change other processes must learn of: an account's API key or storage configuration
    (the change feed, services/changes.py). Rows are few: one per such change."""

    __tablename__ = "account_changes"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    account_id: Mapped[str] = mapped_column(String(36))
    what: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime]


class ConsoleSession(Base):
    """A web console session: the cookie's token is never stored, only its SHA-256."""

    __tablename__ = "console_sessions"
    __table_args__ = (Index("ix_console_sessions_account", "account_id"),)

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(36))
    api_key_id: Mapped[str] = mapped_column(String(24))
    """The key it was opened with: the session ends when that key is revoked or rotated."""
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class SpoolKey(Base):
    """A spool encryption key, sealed: an account's (kind "account", sealed by the master key) or
    a bot's data key (kind "bot", wrapped by its account's key). Erasure deletes the row."""

    __tablename__ = "spool_keys"
    __table_args__ = (Index("ix_spool_keys_account", "account_id"),)

    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    owner_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(36))
    key_ct: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime]
