"""What the storage-configuration endpoints answer, as typed values; never a credential.
`api/presenters/storage.py` renders them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from meetstore.domain.records import StorageConfigRecord
from meetstore.domain.storage_config import CategoryPrefixes


@dataclass(frozen=True, slots=True)
class StorageConfigView:
    """The configuration in force. The optional features are None when not set."""

    provider: str
    bucket_name: str
    region: str
    access_mode: str
    prefix: str
    prefixes: CategoryPrefixes
    endpoint_url: str | None
    version: int
    created_at: datetime | None
    updated_at: datetime | None
    validated_at: datetime | None
    role_arn: str | None = None
    session_duration_s: int | None = None
    external_id: str | None = None
    server_side_encryption: str | None = None
    kms_key_id: str | None = None
    webhook_url: str | None = None
    health: Mapping[str, Any] | None = None

    @classmethod
    def of(cls, row: StorageConfigRecord, external_id: str | None) -> StorageConfigView:
        extra = row.extra or {}
        role_arn = extra.get("role_arn") or None
        health = extra.get("health")
        return cls(
            provider=row.provider,
            bucket_name=row.bucket_name,
            region=row.region,
            access_mode=row.access_mode,
            prefix=row.prefix,
            prefixes=CategoryPrefixes(
                audio=row.prefix_audio,
                video=row.prefix_video,
                transcript=row.prefix_transcript,
                metadata=row.prefix_metadata,
            ),
            endpoint_url=row.endpoint_url,
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
            validated_at=row.validated_at,
            role_arn=role_arn,
            session_duration_s=int(extra.get("session_duration_s", 3600)) if role_arn else None,
            external_id=external_id if role_arn else None,
            server_side_encryption=extra.get("server_side_encryption") or None,
            kms_key_id=extra.get("kms_key_id") or None,
            webhook_url=extra.get("webhook_url") or None,
            health=health if isinstance(health, Mapping) and health else None,
        )


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """The live checks that ran (nothing is saved); `access_mode` is set by the deep check."""

    valid: bool
    checks: tuple[Mapping[str, object], ...]
    access_mode: str | None = None
