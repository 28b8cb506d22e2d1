"""Settings: every knob is a `MEETSTORE_*` environment variable (pydantic-settings).

Secrets held here (`master_key`, `runtime_token`, platform S3 keys) are `SecretStr`, so they
never show in a repr, a log line or an exception message.
"""

from __future__ import annotations

import ipaddress
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MEETSTORE_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path(".meetstore")
    spool_dir_override: Path | None = None
    """Where recorded files wait for upload; default `<data_dir>/spool` (e.g. a dedicated disk)."""
    database_url: str | None = None
    """SQLAlchemy URL. Default: SQLite file `<data_dir>/meetstore.db` (WAL)."""

    # Envelope encryption. Without either, a key file is generated in data_dir (mode 0600).
    master_key: SecretStr | None = None
    """Base64 of 32 random bytes; the current master key."""
    old_master_keys: SecretStr | None = None
    """Comma-separated base64 keys still accepted for decryption (after a rotation)."""
    kms_key_id: str | None = None
    """An AWS KMS key (id, ARN or alias) that wraps data keys instead of a local master key."""
    kms_region: str = "us-east-1"
    kms_endpoint_url: str | None = None

    runtime_token: SecretStr | None = None
    """Bearer token of bot runtimes for the ingest API. Generated into data_dir when unset."""

    # Platform store: "local" (a folder under data_dir, served with signed URLs) or s3://bucket/prefix.
    platform_store: str = "local"
    platform_s3_region: str = "us-east-1"
    platform_s3_endpoint_url: str | None = None
    platform_s3_access_key_id: SecretStr | None = None
    platform_s3_secret_access_key: SecretStr | None = None
    public_base_url: str | None = None
    """Base URL clients reach this server at (for local-store download links)."""

    # Spool (where recordings wait for upload, sealed per bot): "local" (a folder under data_dir)
    # or s3://bucket/prefix, a platform-owned staging bucket (no shared disk between machines).
    spool: str = "local"
    spool_s3_region: str = "us-east-1"
    spool_s3_endpoint_url: str | None = None
    spool_s3_access_key_id: SecretStr | None = None
    spool_s3_secret_access_key: SecretStr | None = None

    allow_private_endpoints: bool = False

    # Presigned URL lifetimes, seconds.
    url_ttl_audio: int = 3600
    url_ttl_video: int = 600
    url_ttl_audio_streams: int = 600
    url_ttl_recording_streams: int = 600
    url_ttl_screenshots: int = 600
    url_ttl_chats: int = 3600
    url_ttl_transcript: int = 3600
    url_ttl_manifest: int = 3600

    # Upload pipeline.
    upload_worker: bool = True
    upload_concurrency: int = 2
    upload_max_attempts: int = 6
    upload_backoff_base_s: float = 1.0
    upload_backoff_max_s: float = 300.0
    lease_seconds: float = 60.0
    poll_interval_s: float = 0.2
    multipart_threshold_mb: int = 16
    multipart_chunksize_mb: int = 8
    transfer_max_concurrency: int = 4
    spool_retention_days: float = 7.0
    s3_connect_timeout_s: float = 5.0
    s3_read_timeout_s: float = 60.0
    """botocore's default: S3-compatible stores may take tens of seconds to answer
    CompleteMultipartUpload for a multi-GiB object (moto: 10-20 s for 2 GiB), and a timed-out
    complete fails an upload that had sent every byte. Validation and health checks have their
    own short timeout (`validation_timeout_s`)."""
    s3_max_attempts: int = 3
    """Attempts per S3 request (botocore standard retries: 5xx, SlowDown, resets, read timeouts)
    before the upload attempt counts as failed and the artifact is rescheduled with backoff."""
    validation_timeout_s: float = 10.0
    validation_deadline_s: float = Field(default=15.0, gt=0)
    """One validation in all (every S3 call of it, deep or not); past it: 400 with s3_error Timeout."""
    validations_per_account: int = Field(default=2, ge=1)
    """Validations of one account in flight in one API process; more: 429 too_many_validations."""
    validation_threads: int = Field(default=16, ge=1)
    """The validations' own threads: however slow a bucket, the API's request threads stay free."""

    # Data lifecycle.
    erasure_wait_s: float = Field(default=5.0, ge=0)
    """How long a delete request waits for its receipt before answering 202 deleting."""
    erasure_max_attempts: int = Field(default=6, ge=1)
    """Attempts of an erasure whose store keeps failing transiently, before what is left is
    reported as left_in_bucket."""
    default_retention_hours: float | None = Field(default=None, gt=0)
    """The platform's retention for bots with none of their own or of their account (unset: forever)."""
    retention_sweep_s: float = Field(default=60.0, gt=0)
    """How often a worker looks for bots whose retention ran out."""

    # Audit trail.
    audit_retention_days: float = Field(default=400.0, gt=0)
    """How long audit entries are kept."""
    audit_flush_s: float = Field(default=1.0, gt=0, le=60)
    """How often buffered url.issued entries are written (what a killed process can lose)."""
    audit_flush_batch: int = Field(default=256, ge=1, le=100_000)
    """How many buffered url.issued entries are written at once, sooner than `audit_flush_s`: each
    flush pauses the requests in flight of its process for as long as it holds the GIL."""
    role_principal_arn: str | None = None
    """The AWS principal meetstore assumes customer roles as (named in iam_policy's trust policy)."""

    # Web console.
    console_idle_s: float = Field(default=12 * 3600.0, gt=0)
    """A console session ends after this long without use (12 h)."""
    trusted_proxies: str = ""
    """Comma-separated addresses or CIDR blocks of reverse proxies whose X-Forwarded-For is
    believed for the audit trail's client address (empty: none; the peer's address is used)."""

    # Webhooks.
    webhook_max_age_s: float = 24 * 3600
    webhook_backoff_base_s: float = 2.0
    webhook_backoff_max_s: float = 3600.0
    webhook_concurrency: int = 4
    """Delivery threads per webhook worker (one receiver holds at most one of them at a time)."""

    # Simulated runtime.
    simulated_default_duration_s: float = 10.0
    simulated_step_delay_s: float = 0.2
    simulated_recordings_per_worker: int = Field(default=50, ge=1)
    """Simulated meetings one worker process records at once; more stay Joining in the queue."""
    bot_runtime: Literal["simulated", "external"] = "simulated"
    """Who runs new bots: the simulated runtime, or an external one speaking the ingest API."""
    runtime_heartbeat_s: float = 5.0
    """How often a runtime's liveness is recorded on its bots (`bots.runtime_seen_at`)."""
    runtime_stale_after_s: float = 60.0
    """A live bot whose runtime has not been seen for this long is handed in by the upload
    worker's janitor (its spool files are pinned and uploaded; nothing recorded is lost)."""

    # API.
    max_body_bytes: int = 1024 * 1024
    rate_limit_per_minute: int = 600
    rate_limit_burst: int = 120
    platform_aws_account_ids: str = ""
    """Comma-separated ids of the AWS accounts meetstore itself runs in: a configuration's
    role_arn may not name a role there (only customers' roles are assumed)."""
    live_bots_per_account: int = Field(default=100, ge=1)
    """Bots of one account joining or in a meeting at once; more: 429 too_many_bots."""
    custom_attributes_max_bytes: int = Field(default=16 * 1024, ge=2)
    """The largest `custom_attributes` of a bot, as compact JSON (it is copied into every webhook)."""
    bots_page_max_bytes: int = Field(default=1024 * 1024, ge=1024)
    """About the most JSON one `GET /bots` page holds; a page stops early, with next_cursor."""
    change_poll_s: float = Field(default=0.5, gt=0)
    """How often every process reads the change feed (revoked keys, changed storage): a change
    reaches every process within about this long."""
    auth_failures_per_minute: int = Field(default=30, ge=1)
    """Failed authentications (unknown or revoked keys) one client address may make per minute."""
    auth_cache_ttl_s: float = 5.0
    """Seconds a valid API key's account stays cached per process (0: off). A revoked key keeps
    working at most this long in processes other than the one that revoked it."""
    fetch_cache_entries: int = 20_000
    """Locations of finished platform-store files remembered per process (0: off); see
    services/fetch_cache.FinalLocations. Never stale: those rows do not change."""
    log_level: str = "INFO"

    # Health re-validation.
    health_interval_s: float = 3600.0
    health_check_max_age_s: float = 300.0
    """A health result younger than this is reused before an upload instead of asking S3 again."""

    # AssumeRole (custom storage with role_arn): meetstore's own AWS identity that assumes roles.
    platform_aws_access_key_id: SecretStr | None = None
    platform_aws_secret_access_key: SecretStr | None = None
    sts_endpoint_url: str | None = None
    sts_region: str = "us-east-1"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'meetstore.db').resolve()}"

    @property
    def platform_account_ids(self) -> frozenset[str]:
        return frozenset(a.strip() for a in self.platform_aws_account_ids.split(",") if a.strip())

    @field_validator("spool")
    @classmethod
    def _spool(cls, value: str) -> str:
        if value != "local" and not (value.startswith("s3://") and len(value) > len("s3://")):
            raise ValueError("the spool is 'local' or 's3://bucket/prefix'")
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: str) -> str:
        for part in value.split(","):
            if part.strip():
                try:
                    ipaddress.ip_network(part.strip(), strict=False)
                except ValueError:
                    raise ValueError(f"not an address or CIDR block: {part.strip()!r}") from None
        return value

    @cached_property
    def trusted_proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(
            ipaddress.ip_network(p.strip(), strict=False)
            for p in self.trusted_proxies.split(",")
            if p.strip()
        )

    @property
    def spool_dir(self) -> Path:
        if self.spool_dir_override is not None:
            return self.spool_dir_override
        return self.data_dir / "spool"

    @property
    def local_store_dir(self) -> Path:
        return self.data_dir / "platform-store"

    def ttl_for(self, kind: str) -> int:
        value = getattr(self, f"url_ttl_{kind}")
        assert isinstance(value, int)
        return value
