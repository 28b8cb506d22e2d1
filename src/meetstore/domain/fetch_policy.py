"""The fetch decision of API.md ("Fetch endpoints", outcomes 1a-7) as one pure function.

Outcome 1 (unknown or foreign bot) is decided before: there is no bot to ask about.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from meetstore.domain.artifacts import UploadState
from meetstore.domain.erasure import ErasureReason
from meetstore.domain.pin import PinKind, PinnedLocation, same_bucket
from meetstore.domain.storage_config import AccessMode, CurrentStorage


class ArtifactState(StrEnum):
    NOT_PINNED = "not_pinned"  # the bot has not left its meeting yet: no file is final
    PENDING = "pending"  # written, upload not final yet
    MISSING = "missing"  # never produced
    FAILED = "failed"  # upload failed for good
    UPLOADED = "uploaded"


class Outcome(StrEnum):
    MEDIA_DELETED = "media_deleted"  # 404, erased on request
    MEDIA_EXPIRED = "media_expired"  # 404, erased when its retention ran out
    NOT_READY = "media_not_ready"  # 202
    ARTIFACT_NOT_FOUND = "artifact_not_found"  # 404
    UPLOAD_FAILED = "upload_failed"  # 404
    WRITE_ONLY = "write_only_storage"  # 403
    NOT_ACCESSIBLE = "storage_not_accessible"  # 403
    SERVE_PLATFORM = "serve_platform"  # 200, platform store
    SERVE_CUSTOM = "serve_custom"  # 200, the customer's bucket with the config in force


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    storage: CurrentStorage | None = None  # the configuration to sign with, for SERVE_CUSTOM


def decide(
    pin: PinnedLocation | None,
    current: CurrentStorage | None,
    state: ArtifactState,
    erased: ErasureReason | None = None,
    *,
    expires_at: datetime | None = None,
    now: datetime | None = None,
) -> Decision:
    """What a fetch endpoint answers for one artifact (or collection) of a bot; `erased`: why
    the bot's media was erased (or is being erased), if it was; `expires_at`: when its pinned
    retention ends, so a bot is expired at that instant, before any sweep has erased it."""
    if erased is ErasureReason.RETENTION or (expires_at is not None and now is not None and now >= expires_at):
        return Decision(Outcome.MEDIA_EXPIRED)
    if erased is ErasureReason.REQUEST:
        return Decision(Outcome.MEDIA_DELETED)
    if pin is None or state in (ArtifactState.NOT_PINNED, ArtifactState.PENDING):
        return Decision(Outcome.NOT_READY)
    if state is ArtifactState.MISSING:
        return Decision(Outcome.ARTIFACT_NOT_FOUND)
    if state is ArtifactState.FAILED:
        return Decision(Outcome.UPLOAD_FAILED)
    if pin.kind is PinKind.PLATFORM:
        return Decision(Outcome.SERVE_PLATFORM)
    if current is None or not same_bucket(pin, current):
        return Decision(Outcome.NOT_ACCESSIBLE)
    if current.access_mode is AccessMode.WRITE_ONLY:
        return Decision(Outcome.WRITE_ONLY)
    return Decision(Outcome.SERVE_CUSTOM, storage=current)


def state_of_row(state: str | None) -> ArtifactState:
    """One artifact row's upload state as the fetch policy sees it (None: no row, never produced)."""
    if state is None:
        return ArtifactState.MISSING
    if state == UploadState.UPLOADED:
        return ArtifactState.UPLOADED
    if state == UploadState.FAILED:
        return ArtifactState.FAILED
    return ArtifactState.PENDING


def collection_state(states: Iterable[str]) -> ArtifactState:
    """A collection's state: any pending → PENDING; none → MISSING; any failed → FAILED; else UPLOADED."""
    seen = {state_of_row(s) for s in states}
    if not seen:
        return ArtifactState.MISSING
    if ArtifactState.PENDING in seen:
        return ArtifactState.PENDING
    if ArtifactState.FAILED in seen:
        return ArtifactState.FAILED
    return ArtifactState.UPLOADED
