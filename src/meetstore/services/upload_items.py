"""What the upload pipeline hands around: a claimed artifact, and how one attempt ended."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from enum import StrEnum

from meetstore.domain.pin import PinnedLocation


class UploadOutcome(StrEnum):
    UPLOADED = "uploaded"
    RETRY = "retry"  # transient error: scheduled again with backoff
    FAILED = "failed"  # failed for good
    LOST = "lost"  # the lease was taken over meanwhile; nothing recorded
    RELEASED = "released"  # cancelled (shutdown or lost lease); lease given back


@dataclass(frozen=True)
class ClaimedArtifact:
    """What a worker needs to upload one artifact, read under its lease."""

    id: int
    bot_id: str
    account_id: str
    kind: str
    spool_name: str
    key: str
    content_type: str
    size: int
    sha256: str
    attempts: int
    multipart_upload_id: str | None
    pin: PinnedLocation | None
    taken_over: bool = False
    """The previous lease expired without an outcome: its holder died (or stalled) mid-attempt."""


def sha256_b64(hex_digest: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_digest)).decode("ascii")
