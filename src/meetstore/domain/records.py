"""The stored rows services read and change, as the attributes they have.

Repositories (adapters/db/repositories) return their ORM rows typed as these Protocols, so a
service reads and sets fields without importing the ORM; a change is written when the service's
transaction commits.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol


class AccountRecord(Protocol):
    id: str
    name: str
    api_key_hash: str
    webhook_secret_ct: bytes
    storage_version_seq: int
    external_id: str | None
    created_at: datetime
    revoked_at: datetime | None
    retention: dict[str, Any] | None
    audit_head: str | None
    api_key_created_at: datetime | None


class StorageConfigRecord(Protocol):
    account_id: str
    version: int
    provider: str
    bucket_name: str
    region: str
    endpoint_url: str | None
    access_mode: str
    prefix: str
    prefix_audio: str
    prefix_video: str
    prefix_transcript: str
    prefix_metadata: str
    access_key_id_ct: bytes | None
    secret_key_ct: bytes | None
    extra: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    validated_at: datetime


class BotRecord(Protocol):
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
    created_at: datetime
    updated_at: datetime
    left_at: datetime | None
    done_at: datetime | None
    pin_kind: str | None
    pin_bucket: str | None
    pin_region: str | None
    pin_endpoint_url: str | None
    pin_config_version: int | None
    pin_prefixes: dict[str, Any] | None
    pinned_at: datetime | None
    meeting_data: dict[str, Any] | None
    runtime_seen_at: datetime | None
    runtime_credential_hash: str | None
    deletion_requested_at: datetime | None
    deletion_reason: str | None
    deletion: dict[str, Any] | None
    retention_hours: float | None
    retention_expires_at: datetime | None
    controls: dict[str, Any] | None
    timeline: dict[str, Any] | None
    join_at: datetime | None


class ArtifactRecord(Protocol):
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
    attempts: int
    next_attempt_at: datetime | None
    lease_owner: str | None
    lease_expires_at: datetime | None
    last_error_code: str | None
    last_error_operation: str | None
    last_error_message: str | None
    uploaded_at: datetime | None
    spool_deleted: bool
    taken_at_s: float | None
    created_at: datetime
    failed_at: datetime | None
    multipart_upload_id: str | None


class WebhookEventRecord(Protocol):
    id: int
    account_id: str
    bot_id: str | None
    event: str
    callback_url: str
    body: str
    state: str
    attempts: int
    next_attempt_at: datetime | None
    lease_owner: str | None
    lease_expires_at: datetime | None
    last_status: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


class ErasureRecord(Protocol):
    id: int
    bot_id: str
    account_id: str
    reason: str
    scope: str
    state: str
    attempts: int
    next_attempt_at: datetime | None
    lease_owner: str | None
    lease_expires_at: datetime | None
    objects: dict[str, Any]
    requested_at: datetime
    requested_by: dict[str, Any] | None
    finished_at: datetime | None
    last_error: str | None


class AuditEventRecord(Protocol):
    id: int
    account_id: str
    at: datetime
    action: str
    actor: dict[str, Any]
    bot_id: str | None
    detail: dict[str, Any]
    prev_hash: str
    hash: str


class ConsoleSessionRecord(Protocol):
    token_hash: str
    account_id: str
    api_key_id: str
    created_at: datetime
    last_seen_at: datetime
    ended_at: datetime | None
