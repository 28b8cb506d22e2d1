"""Where a pinned bot's files live, as an ObjectStore to write to or sign URLs for.

Uploads and fetches both go through here. A custom bucket is reached only with the configuration
in force *for that very bucket*: credentials the customer replaced or deleted are never kept.
"""

from __future__ import annotations

from dataclasses import dataclass

from meetstore.adapters.db.tables import Bot
from meetstore.adapters.platform_store.factory import PlatformStore
from meetstore.adapters.platform_store.local import LocalPlatformStore
from meetstore.adapters.s3.bucket import S3Bucket
from meetstore.adapters.s3.clients import S3ClientFactory
from meetstore.adapters.s3.upload import transfer_config
from meetstore.config import Settings
from meetstore.domain.fetch_policy import CurrentStorage, PinKind, PinnedLocation, same_bucket
from meetstore.services.storage_config import ActiveStorage, StorageConfigService, put_args_of


def pin_of(bot: Bot) -> PinnedLocation | None:
    if bot.pin_kind is None or bot.pin_bucket is None:
        return None
    return PinnedLocation(
        kind=PinKind(bot.pin_kind),
        bucket=bot.pin_bucket,
        region=bot.pin_region or "",
        endpoint_url=bot.pin_endpoint_url,
        config_version=bot.pin_config_version,
    )


@dataclass(frozen=True)
class StorageChanged(Exception):
    """The bucket a bot is pinned to is no longer the account's configured bucket."""

    bucket: str


class Locations:
    def __init__(
        self, settings: Settings, s3: S3ClientFactory, platform: PlatformStore, storage: StorageConfigService
    ) -> None:
        self._settings = settings
        self._s3 = s3
        self.platform = platform
        self._storage = storage
        self._transfer = transfer_config(
            settings.multipart_threshold_mb,
            settings.multipart_chunksize_mb,
            settings.transfer_max_concurrency,
        )

    def custom_store(self, active: ActiveStorage) -> S3Bucket:
        """The customer's bucket, through the cached client of (account, config version)."""
        return S3Bucket(
            self._s3.client(active.target),
            active.target.bucket,
            region=active.target.region,
            extra_put_args=put_args_of(active.extra),
            transfer=self._transfer,
        )

    def store_for(self, account_id: str, pin: PinnedLocation) -> LocalPlatformStore | S3Bucket:
        """Where to write a pinned bot's files now; StorageChanged when that bucket is not configured."""
        if pin.kind is PinKind.PLATFORM:
            return self.platform.store
        active = self._storage.active(account_id)
        if active is None or not same_bucket(pin, active.current):
            raise StorageChanged(pin.bucket)
        return self.custom_store(active)

    def current(self, account_id: str) -> tuple[CurrentStorage, ActiveStorage] | None:
        active = self._storage.active(account_id)
        return None if active is None else (active.current, active)
