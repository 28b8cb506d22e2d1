"""The `Stores` port: the platform store, and customers' buckets through the cached S3 clients."""

from __future__ import annotations

from meetstore.adapters.platform_store.factory import PlatformStore
from meetstore.adapters.platform_store.local import LocalPlatformStore
from meetstore.adapters.s3.bucket import S3Bucket
from meetstore.adapters.s3.clients import S3ClientFactory
from meetstore.domain.storage_target import ActiveStorage, put_args_of


class ObjectStores:
    def __init__(self, s3: S3ClientFactory, platform: PlatformStore) -> None:
        self._s3 = s3
        self._platform = platform

    @property
    def platform(self) -> LocalPlatformStore | S3Bucket:
        return self._platform.store

    @property
    def platform_signs_locally(self) -> bool:
        return self._platform.signs_locally

    @property
    def platform_region(self) -> str:
        return self._platform.region

    @property
    def platform_endpoint_url(self) -> str | None:
        return self._platform.endpoint_url

    def platform_prefix(self, account_id: str) -> str:
        return self._platform.account_prefix(account_id)

    def custom(self, active: ActiveStorage) -> S3Bucket:
        return self._s3.bucket(active.target, extra_put_args=put_args_of(active.extra))

    def custom_if_ready(self, active: ActiveStorage) -> S3Bucket | None:
        return self._s3.cached_bucket(active.target, extra_put_args=put_args_of(active.extra))

    def forget(self, account_id: str) -> None:
        self._s3.forget(account_id)
