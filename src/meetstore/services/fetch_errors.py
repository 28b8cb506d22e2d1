"""What a fetch endpoint says when it serves no URL: each outcome of `domain.fetch_policy.decide`
as the domain error with its message and the location fields API.md names."""

from __future__ import annotations

from datetime import datetime

from meetstore.domain.artifacts import ArtifactKind
from meetstore.domain.clock import rfc3339
from meetstore.domain.fetch_policy import Outcome
from meetstore.domain.pin import PinnedLocation
from meetstore.domain.records import ArtifactRecord
from meetstore.domain.storage_config import CurrentStorage
from meetstore.errors import (
    AccessRefused,
    ArtifactNotFound,
    MediaDeleted,
    MediaExpired,
    MediaNotReady,
    MeetstoreError,
    NextStep,
    Remedy,
    UploadFailed,
)

LABEL: dict[ArtifactKind, str] = {
    ArtifactKind.AUDIO: "audio",
    ArtifactKind.AUDIO_STREAM: "per-participant audio",
    ArtifactKind.RECORDING_STREAM: "per-participant video",
    ArtifactKind.VIDEO: "video",
    ArtifactKind.SCREENSHOT: "screenshots",
    ArtifactKind.TRANSCRIPT_RAW: "transcript",
    ArtifactKind.TRANSCRIPT_PROCESSED: "transcript",
    ArtifactKind.CHAT: "chat log",
    ArtifactKind.MANIFEST: "manifest",
}


def location(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def ended_with_error(kind: ArtifactKind, status: str) -> ArtifactNotFound:
    """The bot ended without ever writing its files (Error, Denied, NotAllowed): nothing is coming."""
    why = {
        "Denied": "the host denied it entry to the meeting",
        "NotAllowed": "nobody admitted it from the waiting room",
    }.get(status, "it ended with an error")
    return ArtifactNotFound(f"This bot recorded nothing ({why}); no {LABEL[kind]} is coming.")


def error_of(
    outcome: Outcome,
    kind: ArtifactKind,
    *,
    bot_id: str,
    status: str,
    pin: PinnedLocation | None,
    current: CurrentStorage | None,
    failed: ArtifactRecord | None,
    error_key: str | None,
    erased_at: datetime | None = None,
) -> MeetstoreError:
    """The error a fetch raises for an outcome that serves nothing (`erased_at`: when the bot's
    media was erased, or its retention ran out)."""
    label = LABEL[kind]
    if outcome is Outcome.MEDIA_DELETED:
        return MediaDeleted(
            f"The media of this bot was deleted on request; its {label} is no longer stored anywhere "
            "meetstore reaches (the bot's detail has the deletion receipt).",
            deleted_at=rfc3339(erased_at),
        )
    if outcome is Outcome.MEDIA_EXPIRED:
        return MediaExpired(
            f"The media of this bot was deleted when its retention period ended; its {label} is no "
            "longer stored (the bot's detail has the deletion receipt).",
            expired_at=rfc3339(erased_at),
        )
    if outcome is Outcome.NOT_READY:
        return MediaNotReady(
            f"The {label} of this bot is not ready yet (status {status}); try again shortly.", status=status
        )
    if outcome is Outcome.ARTIFACT_NOT_FOUND:
        return ArtifactNotFound(f"This bot has no {label}: it was never produced.")
    assert pin is not None
    if outcome is Outcome.UPLOAD_FAILED:
        return upload_failed(bot_id, pin, failed, label)
    key = error_key or ""
    where = location(pin.bucket, key)
    if outcome is Outcome.WRITE_ONLY:
        return AccessRefused(
            f"The {label} of this bot is in your bucket at {where}, but your storage "
            "configuration is write_only, so meetstore may not read it or sign download URLs "
            "for it. Read it directly from your bucket, or switch to read_write with credentials "
            "that also allow s3:GetObject; existing files become fetchable at once.",
            code="write_only_storage",
            next_step=NextStep(Remedy.USE_READ_WRITE),
            access_mode="write_only",
            bucket=pin.bucket,
            key=key,
            location=where,
        )
    assert outcome is Outcome.NOT_ACCESSIBLE, outcome
    if current is None:
        why = "your storage configuration was deleted"
    elif current.bucket != pin.bucket:
        why = f"your storage configuration now points to bucket '{current.bucket}'"
    else:
        why = "your storage configuration now points to another endpoint"
    return AccessRefused(
        f"The {label} of this bot was written to your bucket at {where}, but {why}, "
        "and meetstore keeps no credentials for a bucket that is no longer configured. "
        "The file is still in your bucket: read it from there, or configure that bucket "
        "again (read_write) to fetch it through meetstore.",
        code="storage_not_accessible",
        bucket=pin.bucket,
        key=key,
        location=where,
    )


def upload_failed(bot_id: str, pin: PinnedLocation, row: ArtifactRecord | None, label: str) -> UploadFailed:
    key = row.key if row is not None else None
    code = (row.last_error_code if row is not None else None) or "Unknown"
    operation = (row.last_error_operation if row is not None else None) or "PutObject"
    detail = (row.last_error_message if row is not None else None) or ""
    where = location(pin.bucket, key or "")
    message = f"The upload of the {label} of this bot to {where} failed for good ({code} on {operation})."
    if detail:
        message += f" {detail}"
    return UploadFailed(
        message,
        next_step=NextStep(Remedy.RETRY_UPLOADS, bot_id),
        s3_error=code,
        operation=operation,
        bucket=pin.bucket,
        key=key,
    )
