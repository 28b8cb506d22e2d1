"""Artifact kinds, the file names a runtime hands in, and the upload state machine."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from meetstore.domain.records import ArtifactRecord
from meetstore.domain.storage_config import Category


class ArtifactKind(StrEnum):
    AUDIO = "audio"
    AUDIO_STREAM = "audio_stream"
    VIDEO = "video"
    RECORDING_STREAM = "recording_stream"
    SCREENSHOT = "screenshot"
    TRANSCRIPT_RAW = "transcript_raw"
    TRANSCRIPT_PROCESSED = "transcript_processed"
    CHAT = "chat"
    MANIFEST = "manifest"


CATEGORY_OF: dict[ArtifactKind, Category] = {
    ArtifactKind.AUDIO: Category.AUDIO,
    ArtifactKind.AUDIO_STREAM: Category.AUDIO,
    ArtifactKind.VIDEO: Category.VIDEO,
    ArtifactKind.RECORDING_STREAM: Category.VIDEO,
    ArtifactKind.SCREENSHOT: Category.VIDEO,
    ArtifactKind.TRANSCRIPT_RAW: Category.TRANSCRIPT,
    ArtifactKind.TRANSCRIPT_PROCESSED: Category.TRANSCRIPT,
    ArtifactKind.CHAT: Category.METADATA,
    ArtifactKind.MANIFEST: Category.METADATA,
}

CONTENT_TYPE_OF: dict[ArtifactKind, str] = {
    ArtifactKind.AUDIO: "audio/mpeg",
    ArtifactKind.AUDIO_STREAM: "audio/webm",
    ArtifactKind.VIDEO: "video/mp4",
    ArtifactKind.RECORDING_STREAM: "video/mp4",
    ArtifactKind.SCREENSHOT: "image/png",
    ArtifactKind.TRANSCRIPT_RAW: "application/json",
    ArtifactKind.TRANSCRIPT_PROCESSED: "application/json",
    ArtifactKind.CHAT: "application/json",
    ArtifactKind.MANIFEST: "application/json",
}

# Files a runtime may hand in that are meeting data folded into the manifest, not uploaded alone.
MANIFEST_INPUTS = ("participants.json", "speaker_timeline.json")

# One spelling per artifact (ASCII digits, no extra leading zeros, nothing after the extension):
# two names for the same (kind, seq, participant) would be two rows for one artifact.
_SCREENSHOT_RE = re.compile(
    r"screenshots/(0000[1-9]|000[1-9][0-9]|00[1-9][0-9]{2}|0[1-9][0-9]{3}|[1-9][0-9]{4,8})\.png"
)
_STREAM_RE = re.compile(r"audio_streams/([a-z0-9][a-z0-9-]{0,63})_([1-9][0-9]{0,3})\.webm")
_VIDEO_STREAM_RE = re.compile(r"recording_streams/([a-z0-9][a-z0-9-]{0,63})_([1-9][0-9]{0,3})\.mp4")
_FIXED_NAMES = {
    "audio.mp3": ArtifactKind.AUDIO,
    "video.mp4": ArtifactKind.VIDEO,
    "chat.json": ArtifactKind.CHAT,
    "transcript/raw.json": ArtifactKind.TRANSCRIPT_RAW,
    "transcript/processed.json": ArtifactKind.TRANSCRIPT_PROCESSED,
}
ACCEPTED_NAME_PATTERN = (
    "^(?:"
    + "|".join(
        [re.escape(n) for n in (*_FIXED_NAMES, *MANIFEST_INPUTS)]
        + [_SCREENSHOT_RE.pattern, _STREAM_RE.pattern]
    )
    + ")$"
)
"""Every file name a runtime may hand in (documentation of the ingest API; `is_accepted_file_name`)."""


@dataclass(frozen=True)
class SpoolName:
    """A recorded file's name, parsed: what it is and its place in a collection."""

    kind: ArtifactKind
    seq: int = 0
    participant: str = ""


def parse_spool_name(name: str) -> SpoolName | None:
    """The artifact a runtime's file name stands for, or None when the name is not one of ours."""
    if name in _FIXED_NAMES:
        return SpoolName(_FIXED_NAMES[name])
    m = _SCREENSHOT_RE.fullmatch(name)
    if m:
        return SpoolName(ArtifactKind.SCREENSHOT, seq=int(m.group(1)))
    m = _STREAM_RE.fullmatch(name)
    if m:
        return SpoolName(ArtifactKind.AUDIO_STREAM, seq=int(m.group(2)), participant=m.group(1))
    m = _VIDEO_STREAM_RE.fullmatch(name)
    if m:
        return SpoolName(ArtifactKind.RECORDING_STREAM, seq=int(m.group(2)), participant=m.group(1))
    return None


def is_accepted_file_name(name: str) -> bool:
    return parse_spool_name(name) is not None or name in MANIFEST_INPUTS


class UploadState(StrEnum):
    PENDING = "pending"
    UPLOADED = "uploaded"
    FAILED = "failed"
    ERASED = "erased"
    """The bot's media was erased: never uploaded (again), whatever state it was in."""


_LEGAL: dict[UploadState, frozenset[UploadState]] = {
    UploadState.PENDING: frozenset(
        {UploadState.PENDING, UploadState.UPLOADED, UploadState.FAILED, UploadState.ERASED}
    ),
    UploadState.FAILED: frozenset({UploadState.PENDING, UploadState.ERASED}),
    UploadState.UPLOADED: frozenset({UploadState.ERASED}),
    UploadState.ERASED: frozenset({UploadState.ERASED}),
}


def can_transition(old: UploadState, new: UploadState) -> bool:
    return new in _LEGAL[old]


class IllegalTransition(Exception):
    """A transition the upload state machine does not allow (a row changed under its caller)."""


ERROR_CODE_MAX = 64
ERROR_OPERATION_MAX = 64
ERROR_MESSAGE_MAX = 4000
"""What an artifact keeps of its last error. The code and operation come from the storage's
answer, which meetstore does not control: an S3-compatible server may answer a code of any length,
and a string longer than its column makes the outcome write itself fail (on PostgreSQL)."""


def bounded(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class UploadError:
    """Why the last attempt failed: the S3 error code, the operation, and what to do about it.
    Each is cut to what the row keeps."""

    code: str
    operation: str
    message: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "code", bounded(self.code, ERROR_CODE_MAX))
        object.__setattr__(self, "operation", bounded(self.operation, ERROR_OPERATION_MAX))
        object.__setattr__(self, "message", bounded(self.message, ERROR_MESSAGE_MAX))


@dataclass(frozen=True)
class UploadProgress:
    """An artifact row's upload state: everything a transition reads or writes."""

    state: UploadState
    attempts: int
    next_attempt_at: datetime | None = None
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None
    multipart_upload_id: str | None = None
    uploaded_at: datetime | None = None
    failed_at: datetime | None = None
    last_error: UploadError | None = None


def _to(progress: UploadProgress, new: UploadState) -> None:
    if not can_transition(progress.state, new):
        raise IllegalTransition(f"an artifact cannot go from {progress.state} to {new}")


def _lease_ended(progress: UploadProgress, **changes: Any) -> UploadProgress:
    """Every transition ends the attempt's lease: the row is free for whoever claims it next."""
    return replace(progress, lease_owner=None, lease_expires_at=None, **changes)


def mark_uploaded(progress: UploadProgress, now: datetime) -> UploadProgress:
    """The object is in the bucket: final."""
    _to(progress, UploadState.UPLOADED)
    return _lease_ended(
        progress,
        state=UploadState.UPLOADED,
        attempts=progress.attempts + 1,
        next_attempt_at=None,
        multipart_upload_id=None,
        uploaded_at=now,
        last_error=None,
    )


def schedule_retry(progress: UploadProgress, error: UploadError, at: datetime) -> UploadProgress:
    """A transient failure: try again at `at`, the error kept for whoever asks meanwhile."""
    if progress.state is not UploadState.PENDING:
        raise IllegalTransition(f"only a pending upload is retried, not a {progress.state} one")
    return _lease_ended(
        progress, attempts=progress.attempts + 1, next_attempt_at=at, last_error=error
    )


def mark_failed(progress: UploadProgress, error: UploadError, now: datetime) -> UploadProgress:
    """Failed for good: kept with its error until a retry puts it back in the queue."""
    if progress.state is not UploadState.PENDING:
        raise IllegalTransition(f"only a pending upload fails, not a {progress.state} one")
    _to(progress, UploadState.FAILED)
    return _lease_ended(
        progress,
        state=UploadState.FAILED,
        attempts=progress.attempts + 1,
        next_attempt_at=None,
        failed_at=now,
        last_error=error,
    )


def requeue(progress: UploadProgress, now: datetime) -> UploadProgress:
    """A failed upload back in the queue (retry_uploads): due now, with a fresh attempt budget."""
    if progress.state is not UploadState.FAILED:
        raise IllegalTransition(f"only a failed upload is requeued, not a {progress.state} one")
    _to(progress, UploadState.PENDING)
    return _lease_ended(
        progress,
        state=UploadState.PENDING,
        attempts=0,
        next_attempt_at=now,
        failed_at=None,
        last_error=None,
    )


def mark_erased(progress: UploadProgress) -> UploadProgress:
    """Erasure fences the upload: from any state, final. The lease (if any) is left on the row
    on purpose: the erasure waits until it is given back or runs out, so an upload in flight has
    stopped before the object's key is deleted (and its renewal fails at once, which cancels it)."""
    _to(progress, UploadState.ERASED)
    return replace(progress, state=UploadState.ERASED, next_attempt_at=None, last_error=None)


def progress_of(row: ArtifactRecord) -> UploadProgress:
    error = None
    if row.last_error_code is not None or row.last_error_message is not None:
        error = UploadError(
            row.last_error_code or "", row.last_error_operation or "", row.last_error_message or ""
        )
    return UploadProgress(
        state=UploadState(row.state),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        lease_owner=row.lease_owner,
        lease_expires_at=row.lease_expires_at,
        multipart_upload_id=row.multipart_upload_id,
        uploaded_at=row.uploaded_at,
        failed_at=row.failed_at,
        last_error=error,
    )


def apply(row: ArtifactRecord, progress: UploadProgress) -> None:
    """Write a transition's result onto the row (saved when the caller's transaction commits)."""
    row.state = progress.state.value
    row.attempts = progress.attempts
    row.next_attempt_at = progress.next_attempt_at
    row.lease_owner = progress.lease_owner
    row.lease_expires_at = progress.lease_expires_at
    row.multipart_upload_id = progress.multipart_upload_id
    row.uploaded_at = progress.uploaded_at
    row.failed_at = progress.failed_at
    error = progress.last_error
    row.last_error_code = error.code if error else None
    row.last_error_operation = error.operation if error else None
    row.last_error_message = error.message if error else None


class BotStatus(StrEnum):
    SCHEDULED = "Scheduled"
    JOINING = "Joining"
    IN_WAITING_ROOM = "InWaitingRoom"
    IN_MEETING = "InMeeting"
    RECORDING = "Recording"
    LEAVING = "Leaving"
    STOPPED = "Stopped"
    DENIED = "Denied"
    NOT_ALLOWED = "NotAllowed"
    ERROR = "Error"
    DONE = "Done"


SIMULATED_RUNTIME = "simulated"
"""Bots recorded by meetstore's simulated runtime, in the worker processes."""
EXTERNAL_RUNTIME = "external"
"""Bots recorded by a runtime speaking the ingest API."""

LIVE_STATUSES = frozenset(
    {
        BotStatus.SCHEDULED,
        BotStatus.JOINING,
        BotStatus.IN_WAITING_ROOM,
        BotStatus.IN_MEETING,
        BotStatus.RECORDING,
        BotStatus.LEAVING,
    }
)
NEVER_ADMITTED = frozenset({BotStatus.DENIED, BotStatus.NOT_ALLOWED})
"""Final statuses of a bot that was never let into its meeting: it recorded nothing, so it is
never handed in (no pin, no manifest) and never becomes Done."""
