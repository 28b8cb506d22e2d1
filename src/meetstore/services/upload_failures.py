"""Why an upload failed: the S3 error (or our own code for what is not S3's), and what to do."""

from __future__ import annotations

from dataclasses import dataclass

from meetstore.domain.artifacts import UploadError
from meetstore.domain.pin import PinnedLocation
from meetstore.errors import S3OperationError

SPOOL_MISSING = "SpoolFileMissing"
STORAGE_NOT_ACCESSIBLE = "StorageNotAccessible"


@dataclass(frozen=True)
class Failure:
    code: str
    operation: str
    bucket: str
    message: str
    transient: bool = False
    http_status: int | None = None

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


def not_accessible(pin: PinnedLocation) -> Failure:
    return Failure(
        STORAGE_NOT_ACCESSIBLE,
        "PutObject",
        pin.bucket,
        f"The bot is pinned to bucket '{pin.bucket}', which is no longer the account's configured "
        "storage; the file was kept. Restore that storage configuration (same bucket and "
        "endpoint), then retry the bot's uploads (retry_uploads).",
    )
