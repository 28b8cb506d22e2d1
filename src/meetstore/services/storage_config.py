"""Configure custom S3 storage: validate live, then save (credentials sealed), get, delete."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import SecretStr
from sqlalchemy import select

from meetstore.adapters.db.engine import Database
from meetstore.adapters.db.tables import Account, StorageConfigRow
from meetstore.adapters.net_guard import check_url_allowed
from meetstore.adapters.s3.clients import (
    ACCESS_KEY_PURPOSE,
    SECRET_KEY_PURPOSE,
    PlainCredentials,
    S3ClientFactory,
    S3Target,
    SealedCredentials,
)
from meetstore.adapters.s3.validation import validate_storage
from meetstore.config import Settings
from meetstore.domain.clock import SystemClock, rfc3339
from meetstore.domain.fetch_policy import CurrentStorage
from meetstore.domain.ports import SecretBox
from meetstore.domain.storage_config import AccessMode, Category, CategoryPrefixes, effective_prefixes
from meetstore.errors import StorageNotConfigured


@dataclass(frozen=True)
class StorageConfigInput:
    """A validated request body (schema checks done at the edge; prefixes already normalised)."""

    bucket_name: str
    region: str
    access_key_id: SecretStr
    secret_key: SecretStr
    access_mode: AccessMode = AccessMode.READ_WRITE
    prefix: str = "meetstream"
    prefixes: dict[Category, str] = field(default_factory=dict)
    endpoint_url: str | None = None
    provider: str = "aws"

    def effective(self) -> CategoryPrefixes:
        return effective_prefixes(self.prefix, self.prefixes)

    def __repr__(self) -> str:
        return f"StorageConfigInput(bucket_name={self.bucket_name!r}, access_mode={self.access_mode.value!r})"


@dataclass(frozen=True)
class ActiveStorage:
    """The configuration in force, ready for the upload and fetch paths (credentials sealed)."""

    account_id: str
    current: CurrentStorage
    prefix: str
    prefixes: CategoryPrefixes
    target: S3Target
    extra: dict[str, Any]


def view_of(row: StorageConfigRow) -> dict[str, Any]:
    """The configuration as GET returns it: never a credential."""
    return {
        "provider": row.provider,
        "bucket_name": row.bucket_name,
        "region": row.region,
        "access_mode": row.access_mode,
        "prefix": row.prefix,
        "prefixes": {
            "audio": row.prefix_audio,
            "video": row.prefix_video,
            "transcript": row.prefix_transcript,
            "metadata": row.prefix_metadata,
        },
        "endpoint_url": row.endpoint_url,
        "version": row.version,
        "created_at": rfc3339(row.created_at),
        "updated_at": rfc3339(row.updated_at),
        "validated_at": rfc3339(row.validated_at),
    }


def active_of(row: StorageConfigRow) -> ActiveStorage:
    prefixes = CategoryPrefixes(
        audio=row.prefix_audio,
        video=row.prefix_video,
        transcript=row.prefix_transcript,
        metadata=row.prefix_metadata,
    )
    creds = (
        SealedCredentials(row.account_id, row.access_key_id_ct, row.secret_key_ct)
        if row.access_key_id_ct is not None and row.secret_key_ct is not None
        else None
    )
    return ActiveStorage(
        account_id=row.account_id,
        current=CurrentStorage(
            bucket=row.bucket_name,
            region=row.region,
            endpoint_url=row.endpoint_url,
            access_mode=AccessMode(row.access_mode),
            version=row.version,
        ),
        prefix=row.prefix,
        prefixes=prefixes,
        target=S3Target(
            cache_key=(row.account_id, row.version),
            bucket=row.bucket_name,
            region=row.region,
            endpoint_url=row.endpoint_url,
            credentials=creds,
        ),
        extra=dict(row.extra or {}),
    )


class StorageConfigService:
    def __init__(
        self,
        db: Database,
        box: SecretBox,
        s3: S3ClientFactory,
        settings: Settings,
        clock: SystemClock | None = None,
    ) -> None:
        self._db = db
        self._box = box
        self._s3 = s3
        self._settings = settings
        self._clock = clock or SystemClock()

    def validate(self, account_id: str, data: StorageConfigInput) -> list[dict[str, object]]:
        """Run the live checks for `data`; raise StorageValidationFailed. Saves nothing."""
        if data.endpoint_url:
            check_url_allowed(
                data.endpoint_url, "endpoint_url", allow_private=self._settings.allow_private_endpoints
            )
        target = S3Target(
            cache_key=(account_id, -1),
            bucket=data.bucket_name,
            region=data.region,
            endpoint_url=data.endpoint_url,
            credentials=PlainCredentials(data.access_key_id, data.secret_key),
        )
        checks = validate_storage(
            self._s3,
            target,
            data.access_mode,
            data.effective().distinct(data.prefix),
            timeout_s=self._settings.validation_timeout_s,
        )
        return [c.as_dict() for c in checks]

    def put(self, account_id: str, data: StorageConfigInput) -> dict[str, Any]:
        """Validate, then replace the configuration in one transaction. A failure changes nothing."""
        self.validate(account_id, data)
        now = self._clock.now()
        eff = data.effective()
        with self._db.session() as s:
            acct = s.get(Account, account_id, with_for_update=True)
            assert acct is not None
            acct.storage_version_seq += 1
            row = s.get(StorageConfigRow, account_id)
            created_at = now
            if row is None:
                row = StorageConfigRow(account_id=account_id)
                s.add(row)
            else:
                created_at = row.created_at
            row.version = acct.storage_version_seq
            row.provider = data.provider
            row.bucket_name = data.bucket_name
            row.region = data.region
            row.endpoint_url = data.endpoint_url
            row.access_mode = data.access_mode.value
            row.prefix = data.prefix
            row.prefix_audio = eff.audio
            row.prefix_video = eff.video
            row.prefix_transcript = eff.transcript
            row.prefix_metadata = eff.metadata
            row.access_key_id_ct = self._box.seal(
                data.access_key_id.get_secret_value(), account_id=account_id, purpose=ACCESS_KEY_PURPOSE
            )
            row.secret_key_ct = self._box.seal(
                data.secret_key.get_secret_value(), account_id=account_id, purpose=SECRET_KEY_PURPOSE
            )
            row.extra = {}
            row.created_at = created_at
            row.updated_at = now
            row.validated_at = now
            s.flush()
            view = view_of(row)
        self._s3.forget(account_id)
        return view

    def get(self, account_id: str) -> dict[str, Any] | None:
        with self._db.session() as s:
            row = s.get(StorageConfigRow, account_id)
            return None if row is None else view_of(row)

    def delete(self, account_id: str) -> None:
        """Remove the configuration and erase its sealed credentials; bucket contents are untouched."""
        with self._db.session() as s:
            row = s.get(StorageConfigRow, account_id)
            if row is None:
                raise StorageNotConfigured("No storage configuration is set for this account.")
            s.delete(row)
        self._s3.forget(account_id)

    def active(self, account_id: str) -> ActiveStorage | None:
        with self._db.session() as s:
            row = s.execute(
                select(StorageConfigRow).where(StorageConfigRow.account_id == account_id)
            ).scalar_one_or_none()
            return None if row is None else active_of(row)

    def touch_validated(self, account_id: str, at: datetime) -> None:
        with self._db.session() as s:
            row = s.get(StorageConfigRow, account_id)
            if row is not None:
                row.validated_at = at
