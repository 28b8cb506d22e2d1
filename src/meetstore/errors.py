"""The domain error tree. No HTTP status codes here: `api/errors.py` maps each class once.

Every error carries a human `message` (never a secret) and a machine `code`; `details` holds the
extra fields API.md names for that code (`s3_error`, `bucket`, `key`, ...).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any


class Remedy(enum.Enum):
    """What the caller can do next, named without a route: the edge says which call that is."""

    RETRY_UPLOADS = "retry_uploads"
    """Upload the bot's failed files again (after fixing the bucket or the policy)."""
    USE_READ_WRITE = "use_read_write"
    """Save the storage configuration again with access_mode read_write."""


@dataclass(frozen=True)
class NextStep:
    remedy: Remedy
    bot_id: str | None = None


class MeetstoreError(Exception):
    code: str = "error"

    def __init__(
        self, message: str, *, code: str | None = None, next_step: NextStep | None = None, **details: Any
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.next_step = next_step
        self.details: dict[str, Any] = details


class InvalidRequest(MeetstoreError):
    """Malformed input. `errors` is a list of {"field", "message"}."""

    code = "invalid_request"

    def __init__(self, message: str, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(message, errors=errors or [])


class NotAuthenticated(MeetstoreError):
    code = "not_authenticated"


class InvalidApiKey(MeetstoreError):
    code = "invalid_api_key"


class NotFound(MeetstoreError):
    code = "not_found"


class BotNotFound(NotFound):
    code = "bot_not_found"


class StorageNotConfigured(NotFound):
    code = "storage_not_configured"


class RetentionNotConfigured(NotFound):
    code = "retention_not_configured"


class NoRetention(NotFound):
    """The account's media is kept forever: there is no expiry for a lifecycle rule to say."""

    code = "no_retention"


class ArtifactNotFound(NotFound):
    code = "artifact_not_found"


class UploadFailed(NotFound):
    """The artifact's upload failed for good (details: s3_error, operation, bucket, key)."""

    code = "upload_failed"


class MediaDeleted(NotFound):
    """The bot's media was erased, or is being erased (details: deleted_at)."""

    code = "media_deleted"


class MediaExpired(NotFound):
    """The bot's retention ran out and its media was erased (details: expired_at)."""

    code = "media_expired"


class MediaNotReady(MeetstoreError):
    code = "media_not_ready"


class AccessRefused(MeetstoreError):
    """A pinned file that meetstore may not serve (write_only_storage, storage_not_accessible)."""

    code = "write_only_storage"


class StorageValidationFailed(MeetstoreError):
    """Validation of a storage configuration failed (details: s3_error, operation, key)."""

    code = "storage_validation_failed"


class EndpointNotAllowed(MeetstoreError):
    code = "endpoint_not_allowed"


class Conflict(MeetstoreError):
    code = "conflict"


class NothingToRetry(Conflict):
    code = "nothing_to_retry"


class RetryOfErasedMedia(Conflict):
    """retry_uploads of a bot whose media was erased: nothing may be uploaded again."""

    code = "media_deleted"


class BotInMeeting(Conflict):
    code = "bot_in_meeting"


class BotNotInMeeting(Conflict):
    """A live control (pause, resume, a message, an image) for a bot not in its meeting."""

    code = "bot_not_in_meeting"


class SpoolKeyUnavailable(Conflict):
    """The key a bot's spooled files are sealed under is gone (the bot or its account was
    erased) or does not open: those files can no longer be read, by anyone."""

    code = "spool_key_unavailable"


class PrefixRequired(Conflict):
    """A bucket lifecycle rule for an empty prefix would expire the whole bucket."""

    code = "prefix_required"


class NotSupported(MeetstoreError):
    """A MeetStream capability outside a media-storage backend (calendar, MIA, logins, ...)."""

    code = "not_supported"


class RateLimited(MeetstoreError):
    code = "rate_limited"

    def __init__(self, message: str, retry_after_s: int, *, code: str | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after_s = retry_after_s


class Unavailable(MeetstoreError):
    """A dependency (database, spool) is down; the caller may retry."""

    code = "unavailable"


class SpoolUnavailable(Unavailable):
    """The spool's store (the staging bucket) did not answer or refused: the runtime's hand-in or
    the worker's upload is tried again."""


class InsufficientStorage(MeetstoreError):
    """The spool cannot take the file (disk full)."""

    code = "insufficient_storage"


class SpoolFileDamaged(MeetstoreError):
    """A spooled file that does not open under its bot's key: tampered with, truncated, or
    sealed under a key that is gone. Retrying cannot help."""

    code = "spool_file_damaged"


class PayloadTooLarge(MeetstoreError):
    code = "payload_too_large"


class S3OperationError(MeetstoreError):
    """An S3 call failed. `s3_error` is the S3 error code; `transient` says whether a retry may help."""

    code = "s3_error"

    def __init__(
        self,
        message: str,
        *,
        s3_error: str,
        operation: str,
        bucket: str,
        key: str | None = None,
        transient: bool = False,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message, s3_error=s3_error, operation=operation, bucket=bucket, key=key)
        self.s3_error = s3_error
        self.operation = operation
        self.bucket = bucket
        self.key = key
        self.transient = transient
        self.http_status = http_status


class UploadCancelled(Exception):
    """The caller cancelled an upload (its lease was lost, or the worker is shutting down)."""
