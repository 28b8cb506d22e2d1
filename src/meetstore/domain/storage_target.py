"""Where and as whom meetstore reaches a bucket: the target and its credentials, as plain data.

Credentials travel sealed (`SealedCredentials`, the stored ciphertexts) or as secret values that
hide themselves in a repr; only the S3 adapter opens them, at the moment it builds a client.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from meetstore.domain.records import StorageConfigRecord
from meetstore.domain.storage_config import AccessMode, CategoryPrefixes, CurrentStorage


class SecretValue(Protocol):
    """A secret that shows only when asked for (pydantic's SecretStr is one)."""

    def get_secret_value(self) -> str: ...


ACCESS_KEY_PURPOSE = "storage.access_key_id"
SECRET_KEY_PURPOSE = "storage.secret_key"


@dataclass(frozen=True)
class SealedCredentials:
    account_id: str
    access_key_id_ct: bytes
    secret_key_ct: bytes

    def __repr__(self) -> str:
        return f"SealedCredentials(account_id={self.account_id!r})"


@dataclass(frozen=True)
class PlainCredentials:
    access_key_id: SecretValue
    secret_key: SecretValue


@dataclass(frozen=True)
class RoleCredentials:
    """Assume `role_arn` with meetstore's own AWS identity, sending the account's external id."""

    role_arn: str
    external_id: str
    session_duration_s: int = 3600


Credentials = SealedCredentials | PlainCredentials | RoleCredentials | None
"""None: the default AWS credential chain (platform bucket on an instance role)."""


@dataclass(frozen=True)
class S3Target:
    """Everything needed to talk to one bucket."""

    cache_key: tuple[str, int]
    bucket: str
    region: str
    endpoint_url: str | None
    credentials: Credentials

    def __repr__(self) -> str:
        return f"S3Target(bucket={self.bucket!r}, region={self.region!r}, endpoint_url={self.endpoint_url!r})"


@dataclass(frozen=True)
class ActiveStorage:
    """The configuration in force, ready for the upload and fetch paths (credentials sealed)."""

    account_id: str
    current: CurrentStorage
    prefix: str
    prefixes: CategoryPrefixes
    target: S3Target
    extra: dict[str, Any]


def put_args_of(extra: dict[str, Any]) -> dict[str, str]:
    """Extra PutObject/CreateMultipartUpload arguments every write carries (server-side encryption)."""
    args: dict[str, str] = {}
    if extra.get("server_side_encryption"):
        args["ServerSideEncryption"] = str(extra["server_side_encryption"])
        if extra.get("kms_key_id"):
            args["SSEKMSKeyId"] = str(extra["kms_key_id"])
    return args


def active_of(row: StorageConfigRecord, external_id: str | None = None) -> ActiveStorage:
    prefixes = CategoryPrefixes(
        audio=row.prefix_audio,
        video=row.prefix_video,
        transcript=row.prefix_transcript,
        metadata=row.prefix_metadata,
    )
    extra = row.extra or {}
    creds: Credentials
    if extra.get("role_arn"):
        creds = RoleCredentials(
            str(extra["role_arn"]), external_id or "", int(extra.get("session_duration_s", 3600))
        )
    elif row.access_key_id_ct is not None and row.secret_key_ct is not None:
        creds = SealedCredentials(row.account_id, row.access_key_id_ct, row.secret_key_ct)
    else:
        creds = None
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


def role_account(role_arn: str) -> str:
    """The AWS account id of an IAM role ARN (`arn:aws:iam::<account>:role/<name>`)."""
    parts = role_arn.split(":")
    return parts[4] if len(parts) > 5 else ""
