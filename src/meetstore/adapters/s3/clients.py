"""boto3 clients: one per (account, configuration version), built from one shared Session.

Credentials reach this module sealed (`SealedCredentials`) or as `SecretStr`; they are opened
here, at the moment a client is built, and live on only inside that client and its presigners
(`presign.Presigner`, which signs download URLs with them).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.credentials import Credentials as BotoCredentials
from pydantic import SecretStr
from s3transfer.manager import TransferManager

from meetstore.adapters.s3.bucket import S3Bucket
from meetstore.adapters.s3.egress import EgressGuard
from meetstore.adapters.s3.presign import Presigner
from meetstore.adapters.s3.upload import new_manager
from meetstore.domain.ports import SecretBox
from meetstore.domain.storage_target import (
    ACCESS_KEY_PURPOSE,
    SECRET_KEY_PURPOSE,
    Credentials,
    PlainCredentials,
    RoleCredentials,
    S3Target,
)


def session_name(account_id: str, version: int) -> str:
    """The RoleSessionName of an account's configuration version (`meetstore-<account>-v<n>`;
    a live check of a configuration not saved yet is `-check`): the customer's CloudTrail names
    the account and configuration behind every call made with the role. At most 64 characters."""
    suffix = f"-v{version}" if version >= 0 else "-check"
    return f"meetstore-{account_id}"[: 64 - len(suffix)] + suffix


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
        transfer: TransferConfig | None = None,
        egress: EgressGuard | None = None,
    ) -> None:
        """`transfer`: the settings of every cached client's TransferManager (thresholds, part
        size, and how many parts all its uploads send at once). `egress`: the connect-time guard
        every connection to a customer's endpoint goes through (not the platform's own bucket)."""
        self._box = box
        self._egress = egress
        self._role_assumer = role_assumer
        self._session = boto3.session.Session()
        self._lock = threading.Lock()
        self._cache: OrderedDict[tuple[str, int], _Cached] = OrderedDict()
        self._cache_size = cache_size
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._max_attempts = max(1, max_attempts)
        self._pool = max_pool_connections
        self._transfer = transfer or TransferConfig()

    def _config(
        self, endpoint_url: str | None, *, connect: float, read: float, attempts: int, customer: bool = True
    ) -> Config:
        return Config(
            proxies=self._egress.proxies if customer and self._egress is not None else None,
            signature_version="s3v4",
            connect_timeout=connect,
            read_timeout=read,
            retries={"total_max_attempts": attempts, "mode": "standard"},
            max_pool_connections=self._pool,
            # Every PutObject and UploadPart carries a SigV4-signed x-amz-checksum-sha256 that S3
            # checks the body against, so hashing the body again for the signature (botocore does
            # over http) only reads every byte once more; over https botocore skips it anyway.
            s3={"addressing_style": "path" if endpoint_url else "virtual", "payload_signing_enabled": False},
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

    def _build(self, target: S3Target, config: Config) -> tuple[Any, float, Any | None]:
        """A client for `target`, the monotonic time after which it must be rebuilt (the
        temporary credentials of an assumed role run out; static keys never do), and its
        credentials for the presigners (None when the session's chain has none)."""
        keys = self._keys(target.credentials)
        renew_at = math.inf
        if isinstance(target.credentials, RoleCredentials):
            if self._role_assumer is None:
                raise RuntimeError("role_arn needs MEETSTORE_PLATFORM_AWS_* credentials")
            session = self._role_assumer.assume(target.credentials, session_name(*target.cache_key))
            keys = session.client_keys()
            renew_at = session.renew_at
        with self._lock:  # boto3 Sessions are not thread-safe while building clients
            client = self._session.client(
                "s3", region_name=target.region, endpoint_url=target.endpoint_url, config=config, **keys
            )
            credentials = (
                BotoCredentials(keys["aws_access_key_id"], keys["aws_secret_access_key"], keys.get("aws_session_token"))
                if keys
                else self._session.get_credentials()  # what a client built without keys signs with
            )
        return client, renew_at, credentials

    def client(self, target: S3Target) -> Any:
        """The cached client for `target.cache_key` (built on first use, and again once the
        credentials of an assumed role are about to run out)."""
        return self._cached(target).client

    def bucket(self, target: S3Target, *, extra_put_args: dict[str, str] | None = None) -> S3Bucket:
        """The target's bucket through the cached client and that client's one TransferManager."""
        cached = self._cached(target)
        return S3Bucket(
            cached.client,
            target.bucket,
            region=target.region,
            extra_put_args=extra_put_args,
            manager=cached.manager(self._transfer),
            presigner=cached.presigner(target.bucket),
        )

    def cached_bucket(self, target: S3Target, *, extra_put_args: dict[str, str] | None = None) -> S3Bucket | None:
        """`bucket`, only if its client is cached and not due for renewal (building one does I/O:
        credentials, an AssumeRole); None otherwise."""
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(target.cache_key)
            if cached is None or not now < cached.renew_at:
                return None
            self._cache.move_to_end(target.cache_key)
        return S3Bucket(
            cached.client,
            target.bucket,
            region=target.region,
            extra_put_args=extra_put_args,
            manager=cached.manager(self._transfer),
            presigner=cached.presigner(target.bucket),
        )

    def _cached(self, target: S3Target) -> _Cached:
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(target.cache_key)
            if cached is not None and now < cached.renew_at:
                self._cache.move_to_end(target.cache_key)
                return cached
        client, renew_at, credentials = self._build(
            target,
            self._config(
                target.endpoint_url,
                connect=self._connect_timeout,
                read=self._read_timeout,
                attempts=self._max_attempts,
            ),
        )
        with self._lock:
            cached = self._cache.get(target.cache_key)
            if cached is None or not now < cached.renew_at:
                self._cache[target.cache_key] = cached = _Cached(client, renew_at, credentials)
            self._cache.move_to_end(target.cache_key)
            while len(self._cache) > self._cache_size:
                # Uploads still running through a dropped entry keep its client and manager; once
                # they are done, the manager's thread pool ends with its last reference.
                self._cache.popitem(last=False)
        return cached

    def own_bucket(self, target: S3Target) -> S3Bucket:
        """A bucket with a client and TransferManager of its own, for the life of the process
        (the platform store: held for good, it must not depend on a cache entry)."""
        client, credentials = self._own(target)
        return S3Bucket(
            client,
            target.bucket,
            region=target.region,
            manager=new_manager(client, self._transfer),
            presigner=Presigner(client, target.bucket, credentials),
        )

    def own_client(self, target: S3Target) -> Any:
        """A client of meetstore's own (the platform store, the staging spool) for the process's
        life, with the platform's timeouts and retries."""
        return self._own(target)[0]

    def _own(self, target: S3Target) -> tuple[Any, Any | None]:
        client, _renew_at, credentials = self._build(
            target,
            self._config(
                target.endpoint_url,
                connect=self._connect_timeout,
                read=self._read_timeout,
                attempts=self._max_attempts,
                customer=False,
            ),
        )
        return client, credentials

    def one_off_client(self, target: S3Target, *, timeout_s: float) -> Any:
        """An uncached client for validation: short timeouts, no retries."""
        client, _renew_at, _credentials = self._build(
            target,
            self._config(target.endpoint_url, connect=min(5.0, timeout_s), read=timeout_s, attempts=1),
        )
        return client

    def forget(self, account_id: str) -> None:
        """Drop every cached client of an account (its credentials were replaced or deleted)."""
        with self._lock:
            for key in [k for k in self._cache if k[0] == account_id]:
                del self._cache[key]


class _Cached:
    """A cached client, when it must be rebuilt, its TransferManager (made on first upload) and
    its presigners (one per bucket, made on first fetch)."""

    def __init__(self, client: Any, renew_at: float, credentials: Any | None) -> None:
        self.client = client
        self.renew_at = renew_at
        self._credentials = credentials
        self._manager: TransferManager | None = None
        self._presigners: dict[str, Presigner] = {}
        self._lock = threading.Lock()

    def presigner(self, bucket: str) -> Presigner:
        with self._lock:
            presigner = self._presigners.get(bucket)
            if presigner is None:
                presigner = self._presigners[bucket] = Presigner(self.client, bucket, self._credentials)
            return presigner

    def manager(self, config: TransferConfig) -> TransferManager:
        with self._lock:
            if self._manager is None:
                self._manager = new_manager(self.client, config)
            return self._manager


class RoleAssumer:
    """Assumes customer roles with meetstore's own credentials. A client built on a role's
    temporary credentials is replaced by a new one shortly before they expire (S3ClientFactory)."""

    def __init__(
        self,
        access_key_id: SecretStr | None,
        secret_access_key: SecretStr | None,
        *,
        sts_endpoint_url: str | None,
        region: str,
        timeout_s: float = 10.0,
        egress: EgressGuard | None = None,
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
                connect_timeout=min(5.0, timeout_s),
                read_timeout=timeout_s,
                retries={"total_max_attempts": 2},
                proxies=None if egress is None else egress.proxies,
            ),
            **keys,
        )

    def assume(self, role: RoleCredentials, name: str = "meetstore") -> RoleSession:
        """One AssumeRole call: temporary credentials, renewed a little before they expire.
        `name`: the RoleSessionName, which the customer's CloudTrail records with every call."""
        resp = self._sts.assume_role(
            RoleArn=role.role_arn,
            RoleSessionName=name,
            ExternalId=role.external_id,
            DurationSeconds=role.session_duration_s,
        )
        c = resp["Credentials"]
        lifetime = (c["Expiration"] - datetime.now(UTC)).total_seconds()
        margin = min(300.0, role.session_duration_s / 4)
        return RoleSession(
            access_key_id=SecretStr(c["AccessKeyId"]),
            secret_access_key=SecretStr(c["SecretAccessKey"]),
            session_token=SecretStr(c["SessionToken"]),
            renew_at=time.monotonic() + max(0.0, lifetime - margin),
        )


@dataclass(frozen=True)
class RoleSession:
    """Temporary credentials of an assumed role, and when to ask for new ones (monotonic)."""

    access_key_id: SecretStr
    secret_access_key: SecretStr
    session_token: SecretStr
    renew_at: float

    def client_keys(self) -> dict[str, str]:
        return {
            "aws_access_key_id": self.access_key_id.get_secret_value(),
            "aws_secret_access_key": self.secret_access_key.get_secret_value(),
            "aws_session_token": self.session_token.get_secret_value(),
        }
