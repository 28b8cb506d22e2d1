"""Request bodies of the storage-configuration endpoints (strict: unknown fields are 400)."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator

from meetstore.adapters.net_guard import parse_http_url
from meetstore.domain.iam_policy import PolicyRequest
from meetstore.domain.storage_config import (
    DEFAULT_PREFIX,
    AccessMode,
    Category,
    PrefixError,
    bucket_name_problem,
    effective_prefixes,
    normalise_prefix,
    region_problem,
)
from meetstore.errors import InvalidRequest
from meetstore.services.storage_config import StorageConfigInput

_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[A-Za-z0-9+=,.@/_-]{1,512}")


def _prefix(value: str) -> str:
    try:
        return normalise_prefix(value)
    except PrefixError as exc:
        raise ValueError(str(exc)) from None


class PrefixesIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    audio: str | None = None
    video: str | None = None
    transcript: str | None = None
    metadata: str | None = None

    @field_validator("audio", "video", "transcript", "metadata")
    @classmethod
    def _norm(cls, v: str | None) -> str | None:
        return None if v is None else _prefix(v)


class StorageConfigIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    provider: Literal["aws"]
    bucket_name: str = Field(max_length=255)
    region: str = Field(max_length=64)
    access_key_id: SecretStr | None = Field(default=None, min_length=1, max_length=256)
    secret_key: SecretStr | None = Field(default=None, min_length=1, max_length=1024)
    access_mode: Literal["read_write", "write_only"] = "read_write"
    prefix: str = DEFAULT_PREFIX
    prefixes: PrefixesIn | None = None
    endpoint_url: str | None = Field(default=None, max_length=2048)
    # Extensions (docs/api.md, "Beyond the anchors").
    role_arn: str | None = Field(default=None, max_length=2048)
    session_duration_s: int = Field(default=3600, ge=900, le=43200)
    server_side_encryption: Literal["AES256", "aws:kms"] | None = None
    kms_key_id: str | None = Field(default=None, min_length=1, max_length=2048)
    webhook_url: str | None = Field(default=None, max_length=2048)

    @field_validator("role_arn")
    @classmethod
    def _role(cls, v: str | None) -> str | None:
        if v is not None and not _ROLE_ARN.fullmatch(v):
            raise ValueError(
                "must be an IAM role ARN such as arn:aws:iam::123456789012:role/meetstore-writer"
            )
        return v

    @field_validator("bucket_name")
    @classmethod
    def _bucket(cls, v: str) -> str:
        problem = bucket_name_problem(v)
        if problem:
            raise ValueError(problem)
        return v

    @field_validator("region")
    @classmethod
    def _region(cls, v: str) -> str:
        problem = region_problem(v)
        if problem:
            raise ValueError(problem)
        return v

    @field_validator("prefix")
    @classmethod
    def _base_prefix(cls, v: str) -> str:
        return _prefix(v)

    @field_validator("endpoint_url", "webhook_url")
    @classmethod
    def _http_url(cls, v: str | None, info: ValidationInfo) -> str | None:
        if v is None or v == "":
            return None
        try:
            parse_http_url(v, info.field_name or "url")
        except InvalidRequest as exc:
            raise ValueError(exc.message) from None
        return v.rstrip("/") if info.field_name == "endpoint_url" else v

    def problems(self) -> list[dict[str, str]]:
        """Rules across fields: credentials (keys or a role) and encryption settings."""
        out: list[dict[str, str]] = []
        if self.role_arn is None:
            for name in ("access_key_id", "secret_key"):
                if getattr(self, name) is None:
                    out.append({"field": name, "message": "Field required (or give role_arn instead)"})
        elif self.access_key_id is not None or self.secret_key is not None:
            out.append(
                {"field": "role_arn", "message": "give either role_arn or access_key_id/secret_key, not both"}
            )
        if self.server_side_encryption == "aws:kms" and not self.kms_key_id:
            out.append({"field": "kms_key_id", "message": "required with server_side_encryption 'aws:kms'"})
        if self.kms_key_id and self.server_side_encryption != "aws:kms":
            out.append({"field": "kms_key_id", "message": "goes with server_side_encryption 'aws:kms'"})
        return out

    def _overrides(self) -> dict[Category, str]:
        overrides: dict[Category, str] = {}
        if self.prefixes is not None:
            for cat in Category:
                value = getattr(self.prefixes, cat.value)
                if value is not None:
                    overrides[cat] = value
        return overrides

    def policy_request(self) -> PolicyRequest:
        """What the minimum IAM policy depends on (no credentials needed)."""
        used = effective_prefixes(self.prefix, self._overrides()).as_dict().values()
        return PolicyRequest(
            bucket=self.bucket_name,
            prefixes=tuple(dict.fromkeys(used)),
            access_mode=AccessMode(self.access_mode),
            kms_key_id=self.kms_key_id if self.server_side_encryption == "aws:kms" else None,
            role_arn=self.role_arn,
        )

    def to_input(self) -> StorageConfigInput:
        problems = self.problems()
        if problems:
            first = problems[0]
            raise InvalidRequest(f"Invalid request: {first['field']}: {first['message']}", problems)
        overrides = self._overrides()
        return StorageConfigInput(
            bucket_name=self.bucket_name,
            region=self.region,
            access_key_id=self.access_key_id,
            secret_key=self.secret_key,
            access_mode=AccessMode(self.access_mode),
            prefix=self.prefix,
            prefixes=overrides,
            endpoint_url=self.endpoint_url,
            provider=self.provider,
            role_arn=self.role_arn,
            session_duration_s=self.session_duration_s,
            server_side_encryption=self.server_side_encryption,
            kms_key_id=self.kms_key_id,
            webhook_url=self.webhook_url,
        )


class IamPolicyIn(StorageConfigIn):
    """POST /admin/configs/iam_policy: the body of PUT (credentials may be left out), and whether
    erasure should reach the bucket."""

    allow_erasure: bool = Field(default=True, description="Include s3:DeleteObject(Version) for erasure.")

    def policy_request(self) -> PolicyRequest:
        return replace(super().policy_request(), allow_erasure=self.allow_erasure)
