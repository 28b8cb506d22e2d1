"""Where a pinned bot's files live, as an ObjectStore to write to or sign URLs for.

Uploads and fetches both go through here. A custom bucket is reached only with the configuration
in force *for that very bucket*: credentials the customer replaced or deleted are never kept.
"""

from __future__ import annotations

from dataclasses import dataclass

from meetstore.domain.pin import PinKind, PinnedLocation, same_bucket
from meetstore.domain.ports import ObjectStore, Stores
from meetstore.domain.records import BotRecord
from meetstore.domain.storage_config import CurrentStorage
from meetstore.domain.storage_target import ActiveStorage
from meetstore.services.storage_config import StorageConfigService


def pin_of(bot: BotRecord) -> PinnedLocation | None:
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
    def __init__(self, stores: Stores, storage: StorageConfigService) -> None:
        self._stores = stores
        self._storage = storage

    @property
    def platform(self) -> ObjectStore:
        return self._stores.platform

    @property
    def platform_signs_locally(self) -> bool:
        return self._stores.platform_signs_locally

    def custom_store(self, active: ActiveStorage) -> ObjectStore:
        return self._stores.custom(active)

    def custom_store_if_ready(self, active: ActiveStorage) -> ObjectStore | None:
        """The customer's bucket only when no I/O is needed to reach it (its client is cached)."""
        return self._stores.custom_if_ready(active)

    def store_for(self, account_id: str, pin: PinnedLocation) -> tuple[ObjectStore, int | None]:
        """Where to write a pinned bot's files now, and the version of the customer's
        configuration that store uses (None: the platform store); StorageChanged when that
        bucket is not configured."""
        if pin.kind is PinKind.PLATFORM:
            return self._stores.platform, None
        active = self._storage.active(account_id)
        if active is None or not same_bucket(pin, active.current):
            raise StorageChanged(pin.bucket)
        return self._stores.custom(active), active.current.version

    def current(self, account_id: str) -> CurrentStorage | None:
        active = self._storage.active(account_id)
        return None if active is None else active.current
