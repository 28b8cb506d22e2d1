"""Build the platform store named by `MEETSTORE_PLATFORM_STORE` (`local` or `s3://bucket/prefix`)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import SecretStr

from meetstore.adapters.platform_store.local import LocalPlatformStore, load_signing_key
from meetstore.adapters.s3.bucket import S3Bucket
from meetstore.adapters.s3.clients import S3ClientFactory
from meetstore.config import Settings
from meetstore.domain.storage_target import PlainCredentials, S3Target


@dataclass(frozen=True)
class PlatformStore:
    """The platform store and the key prefix under which each account's files live."""

    store: LocalPlatformStore | S3Bucket
    base_prefix: str
    region: str
    endpoint_url: str | None
    signs_locally: bool = True
    """Whether a download URL is signed without any I/O: an HMAC token, or SigV4 with static keys
    (the default AWS credential chain may fetch or refresh credentials over the network)."""

    @property
    def bucket(self) -> str:
        return self.store.bucket

    def account_prefix(self, account_id: str) -> str:
        """Platform files are namespaced by account: `{base}/accounts/{account_id}/meetstream`."""
        head = f"{self.base_prefix}/" if self.base_prefix else ""
        return f"{head}accounts/{account_id}/meetstream"


def own_target(
    name: str,
    bucket: str,
    region: str,
    endpoint_url: str | None,
    access_key_id: SecretStr | None,
    secret_access_key: SecretStr | None,
) -> S3Target:
    """A bucket of the platform's own (the platform store, the staging spool): static keys when
    both are set, else the default AWS credential chain."""
    creds = None
    if access_key_id and secret_access_key:
        creds = PlainCredentials(
            SecretStr(access_key_id.get_secret_value()), SecretStr(secret_access_key.get_secret_value())
        )
    return S3Target(cache_key=(name, 0), bucket=bucket, region=region, endpoint_url=endpoint_url, credentials=creds)


def build_platform_store(settings: Settings, s3: S3ClientFactory) -> PlatformStore:
    spec = settings.platform_store
    if spec == "local":

        def base_url() -> str:
            return settings.public_base_url or f"http://{settings.host}:{settings.port}"

        store = LocalPlatformStore(settings.local_store_dir, load_signing_key(settings.data_dir), base_url)
        return PlatformStore(store, "", "local", None)
    if not spec.startswith("s3://"):
        raise ValueError("MEETSTORE_PLATFORM_STORE is 'local' or 's3://bucket/prefix'")
    bucket, _, prefix = spec[len("s3://") :].partition("/")
    target = own_target(
        "__platform__",
        bucket,
        settings.platform_s3_region,
        settings.platform_s3_endpoint_url,
        settings.platform_s3_access_key_id,
        settings.platform_s3_secret_access_key,
    )
    creds = target.credentials
    store_s3 = s3.own_bucket(target)
    return PlatformStore(store_s3, prefix.strip("/"), target.region, target.endpoint_url, creds is not None)
