"""The pin: where a bot's files were written, recorded once when it left, never moved."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from meetstore.domain.storage_config import CurrentStorage


class PinKind(StrEnum):
    PLATFORM = "platform"
    CUSTOM = "custom"


@dataclass(frozen=True)
class PinnedLocation:
    """Where a bot's files were written; recorded once, never moved."""

    kind: PinKind
    bucket: str
    region: str
    endpoint_url: str | None = None
    config_version: int | None = None


def same_bucket(pin: PinnedLocation, current: CurrentStorage) -> bool:
    """Whether the configuration in force points at the very bucket the bot was pinned to."""
    return pin.bucket == current.bucket and (pin.endpoint_url or None) == (current.endpoint_url or None)
