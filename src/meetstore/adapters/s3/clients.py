"""boto3 clients: one per (account, configuration version), built from one shared Session.

Credentials reach this module sealed (`SealedCredentials`) or as `SecretStr`; they are opened
here, at the moment a client is built, and live on only inside that client.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from pydantic import SecretStr

from meetstore.domain.ports import SecretBox

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
    access_key_id: SecretStr
    secret_key: SecretStr


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


class S3ClientFactory:
    """Builds and caches clients. Owned by the app container; never module-global."""

    def __init__(
        self,
        box: SecretBox,
        *,
        role_assumer: RoleAssumer | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 10.0,
        max_attempts: int = 1,
        max_pool_connections: int = 32,
        cache_size: int = 1024,
    ) -> None:
        self._box = box
        self._role_assumer = role_assumer
        self._session = boto3.session.Session()
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[str, int], Any] = OrderedDict()
        self._cache_size = cache_size
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._max_attempts = max(1, max_attempts)
        self._pool = max_pool_connections

    def _config(self, endpoint_url: str | None, *, connect: float, read: float, attempts: int) -> Config:
        return Config(
            signature_version="s3v4",
            connect_timeout=connect,
            read_timeout=read,
            retries={"total_max_attempts": attempts, "mode": "standard"},
            max_pool_connections=self._pool,
            s3={"addressing_style": "path" if endpoint_url else "virtual"},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )

    def _keys(self, creds: Credentials) -> dict[str, str]:
        if creds is None or isinstance(creds, RoleCredentials):
            return {}
        if isinstance(creds, PlainCredentials):
            return {
                "aws_access_key_id": creds.access_key_id.get_secret_value(),
                "aws_secret_access_key": creds.secret_key.get_secret_value(),
            }
        return {
            "aws_access_key_id": self._box.open(
                creds.access_key_id_ct, account_id=creds.account_id, purpose=ACCESS_KEY_PURPOSE
            ),
            "aws_secret_access_key": self._box.open(
                creds.secret_key_ct, account_id=creds.account_id, purpose=SECRET_KEY_PURPOSE
            ),
        }

    def _build(self, target: S3Target, config: Config) -> Any:
        if isinstance(target.credentials, RoleCredentials):
            if self._role_assumer is None:
                raise RuntimeError("role_arn needs MEETSTORE_PLATFORM_AWS_* credentials")
            session = self._role_assumer.session_for(target.credentials)
            with self._lock:
                client = session.client(
                    "s3", region_name=target.region, endpoint_url=target.endpoint_url, config=config
                )
        else:
            with self._lock:  # boto3 Sessions are not thread-safe while building clients
                client = self._session.client(
                    "s3",
                    region_name=target.region,
                    endpoint_url=target.endpoint_url,
                    config=config,
                    **self._keys(target.credentials),
                )
        sign_checksum_not_payload(client)
        return client

    def client(self, target: S3Target) -> Any:
        """The cached client for `target.cache_key` (built on first use)."""
        with self._lock:
            cached = self._cache.get(target.cache_key)
            if cached is not None:
                self._cache.move_to_end(target.cache_key)
                return cached
        client = self._build(
            target,
            self._config(
                target.endpoint_url,
                connect=self._connect_timeout,
                read=self._read_timeout,
                attempts=self._max_attempts,
            ),
        )
        with self._lock:
            existing = self._cache.setdefault(target.cache_key, client)
            self._cache.move_to_end(target.cache_key)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
            return existing

    def one_off_client(self, target: S3Target, *, timeout_s: float) -> Any:
        """An uncached client for validation: short timeouts, no retries."""
        return self._build(
            target,
            self._config(target.endpoint_url, connect=min(5.0, timeout_s), read=timeout_s, attempts=1),
        )

    def forget(self, account_id: str) -> None:
        """Drop every cached client of an account (its credentials were replaced or deleted)."""
        with self._lock:
            for key in [k for k in self._cache if k[0] == account_id]:
                del self._cache[key]


def sign_checksum_not_payload(client: Any) -> None:
    """Hash a request body once, not twice, when it carries a SHA-256 (or other) checksum header.

    Every PutObject and UploadPart meetstore sends carries `x-amz-checksum-sha256`; S3 checks the
    body against it, and the header is part of what SigV4 signs, so the body cannot be changed
    unnoticed. Over https botocore then skips hashing the body a second time for the signature
    (`UNSIGNED-PAYLOAD`), but over http it always does: one more SHA-256 pass, and one more read,
    of every byte (bench/upload: ~0.7 s of CPU per GiB). This does what botocore does over https
    for such requests only; a body without a checksum header (CompleteMultipartUpload's XML) is
    still signed in full.
    """
    unsigned = client.meta.config.merge(
        Config(s3={**(client.meta.config.s3 or {}), "payload_signing_enabled": False})
    )

    def before_sign(request: Any, **_kwargs: Any) -> None:
        if any(name.lower().startswith("x-amz-checksum-") for name in request.headers):
            # botocore's S3 signer reads payload_signing_enabled from the request's client config.
            request.context["client_config"] = unsigned

    client.meta.events.register("before-sign.s3", before_sign, unique_id="meetstore-sign-checksum")


class RoleAssumer:
    """Assumes customer roles with meetstore's own credentials; session credentials refresh
    themselves shortly before they expire (botocore RefreshableCredentials)."""

    def __init__(
        self,
        access_key_id: SecretStr | None,
        secret_access_key: SecretStr | None,
        *,
        sts_endpoint_url: str | None,
        region: str,
        timeout_s: float = 10.0,
    ) -> None:
        keys: dict[str, str] = {}
        if access_key_id is not None and secret_access_key is not None:
            keys = {
                "aws_access_key_id": access_key_id.get_secret_value(),
                "aws_secret_access_key": secret_access_key.get_secret_value(),
            }
        self._sts = boto3.session.Session().client(
            "sts",
            region_name=region,
            endpoint_url=sts_endpoint_url,
            config=Config(
                connect_timeout=min(5.0, timeout_s), read_timeout=timeout_s, retries={"total_max_attempts": 2}
            ),
            **keys,
        )

    def assume(self, role: RoleCredentials) -> dict[str, str]:
        """One AssumeRole call; the metadata botocore's RefreshableCredentials wants."""
        resp = self._sts.assume_role(
            RoleArn=role.role_arn,
            RoleSessionName="meetstore",
            ExternalId=role.external_id,
            DurationSeconds=role.session_duration_s,
        )
        c = resp["Credentials"]
        return {
            "access_key": c["AccessKeyId"],
            "secret_key": c["SecretAccessKey"],
            "token": c["SessionToken"],
            "expiry_time": c["Expiration"].isoformat(),
        }

    def session_for(self, role: RoleCredentials) -> boto3.session.Session:
        from botocore.credentials import RefreshableCredentials
        from botocore.session import get_session

        creds = RefreshableCredentials.create_from_metadata(
            metadata=self.assume(role), refresh_using=lambda: self.assume(role), method="assume-role"
        )
        # Refresh a little before expiry, not 15 minutes before (botocore's default for long sessions).
        creds._advisory_refresh_timeout = min(300, role.session_duration_s // 4)
        creds._mandatory_refresh_timeout = min(120, role.session_duration_s // 8)
        core = get_session()
        core._credentials = creds
        return boto3.session.Session(botocore_session=core)
