"""Why an upload failed: the S3 error (or our own code for what is not S3's), and what to do."""

from __future__ import annotations

from dataclasses import dataclass

from meetstore.domain.artifacts import (
    ERROR_CODE_MAX,
    ERROR_MESSAGE_MAX,
    ERROR_OPERATION_MAX,
    UploadError,
    bounded,
)
from meetstore.domain.pin import PinnedLocation
from meetstore.errors import S3OperationError

SPOOL_MISSING = "SpoolFileMissing"
SPOOL_DAMAGED = "SpoolFileDamaged"
SPOOL_UNAVAILABLE = "SpoolUnavailable"
STORAGE_NOT_ACCESSIBLE = "StorageNotAccessible"


@dataclass(frozen=True)
class Failure:
    code: str
    operation: str
    bucket: str
    message: str
    transient: bool = False
    http_status: int | None = None

    def __post_init__(self) -> None:
        # The same bounds as the row's: the storage.upload_failed event says what the row says.
        object.__setattr__(self, "code", bounded(self.code, ERROR_CODE_MAX))
        object.__setattr__(self, "operation", bounded(self.operation, ERROR_OPERATION_MAX))
        object.__setattr__(self, "message", bounded(self.message, ERROR_MESSAGE_MAX))

    @staticmethod
    def of(err: S3OperationError) -> Failure:
        return Failure(err.s3_error, err.operation, err.bucket, err.message, err.transient, err.http_status)

    @property
    def error(self) -> UploadError:
        return UploadError(self.code, self.operation, self.message)


def spool_missing(spool_name: str, bucket: str, retention_days: float) -> Failure:
    return Failure(
        SPOOL_MISSING,
        "PutObject",
        bucket,
        f"The recorded file {spool_name} is no longer in the spool (spool files of failed "
        f"uploads are kept {retention_days:g} days); it cannot be uploaded.",
    )


def spool_damaged(spool_name: str, bucket: str) -> Failure:
    return Failure(
        SPOOL_DAMAGED,
        "PutObject",
        bucket,
        f"The recorded file {spool_name} does not open under its bot's spool key (the key was "
        "destroyed by an erasure, or the spooled copy was altered); it cannot be uploaded.",
    )


def spool_unavailable(exc: Exception, bucket: str) -> Failure:
    """Reading the staged copy failed (the staging bucket is away): tried again, with backoff."""
    return Failure(SPOOL_UNAVAILABLE, "GetObject", bucket, str(exc), transient=True)


def not_accessible(pin: PinnedLocation) -> Failure:
    return Failure(
        STORAGE_NOT_ACCESSIBLE,
        "PutObject",
        pin.bucket,
        f"The bot is pinned to bucket '{pin.bucket}', which is no longer the account's configured "
        "storage; the file was kept. Restore that storage configuration (same bucket and "
        "endpoint), then retry the bot's uploads (retry_uploads).",
    )


UNEXPECTED = "InternalError"


def unexpected(exc: Exception, pin: PinnedLocation | None) -> Failure:
    """An attempt that broke outside the storage's answers (a bug, a write the database refused)."""
    return Failure(
        UNEXPECTED,
        "PutObject",
        pin.bucket if pin is not None else "",
        f"The upload attempt failed inside meetstore ({type(exc).__name__}); meetstore retries.",
        transient=True,
    )
