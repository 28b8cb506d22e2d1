"""S3 errors → domain errors, in one place, with a message that says what to fix.

Never echoes botocore's text (it can carry request details); builds its own sentences from the
error code, the operation, the bucket and the key.
"""

from __future__ import annotations

import re

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ProxyConnectionError,
    ReadTimeoutError,
)

from meetstore.domain.storage_config import required_put_resource
from meetstore.errors import S3OperationError

TRANSIENT_CODES = frozenset(
    {
        "SlowDown",
        "InternalError",
        "ServiceUnavailable",
        "RequestTimeout",
        "RequestTimeTooSkewed",
        "EndpointUnreachable",
        "Throttling",
        "ThrottlingException",
        "RequestLimitExceeded",
        "OperationAborted",
        "ConnectionError",
    }
)

_BARE_STATUS = {"301": "PermanentRedirect", "400": "BadRequest", "403": "AccessDenied", "404": "NotFound"}


# The first key segment after the configured prefix starts with "{bot_id}_" (domain/key_layout.py).
_BOT_SEGMENT_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}_")


def _key_prefix(key: str | None) -> str:
    """The configured prefix a key was written under (not a bot's collection sub-folder)."""
    if not key or "/" not in key:
        return ""
    segments = key.split("/")
    for i, segment in enumerate(segments[:-1]):
        if _BOT_SEGMENT_RE.match(segment):
            return "/".join(segments[:i])
    return key.rsplit("/", 1)[0]


def explain(
    s3_error: str,
    operation: str,
    bucket: str,
    key: str | None,
    *,
    region: str | None = None,
    bucket_region: str | None = None,
) -> str:
    """A sentence that names what the customer must fix."""
    if s3_error == "InvalidAccessKeyId":
        return "S3 does not know this access key id: check access_key_id (deleted, inactive or mistyped)."
    if s3_error == "SignatureDoesNotMatch":
        return "S3 rejected the request signature: secret_key does not belong to access_key_id."
    if s3_error in ("NoSuchBucket", "NotFound") and operation in ("HeadBucket", "PutObject", "ListObjectsV2"):
        return f"Bucket '{bucket}' does not exist: check bucket_name (and endpoint_url for S3-compatible stores)."
    if s3_error in (
        "PermanentRedirect",
        "AuthorizationHeaderMalformed",
        "IllegalLocationConstraintException",
    ):
        where = f"region '{bucket_region}'" if bucket_region else "another region"
        return f"Bucket '{bucket}' is in {where}, not '{region or '?'}': set region to the bucket's region."
    if s3_error == "EndpointNotAllowed":
        return (
            "meetstore refused to connect: the endpoint's name resolves to an address it must not "
            "reach (private, link-local or not resolvable at all)."
        )
    if s3_error == "EndpointUnreachable":
        return "The S3 endpoint could not be reached within the time limit: check endpoint_url, region and network."
    if s3_error in ("AccessDenied", "AllAccessDisabled", "Forbidden"):
        if operation in ("PutObject", "CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload"):
            resource = required_put_resource(bucket, _key_prefix(key))
            return f"Access denied: the IAM policy must allow s3:PutObject on {resource}."
        if operation == "HeadBucket":
            return (
                f"Access denied on HeadBucket: read_write needs s3:ListBucket on arn:aws:s3:::{bucket} "
                "and s3:GetObject on the prefix; if the policy only grants s3:PutObject, use "
                "access_mode 'write_only'."
            )
        if operation in ("GetObject", "HeadObject"):
            return f"Access denied: the IAM policy must allow s3:GetObject on arn:aws:s3:::{bucket}/{key or '*'}."
        return f"Access denied on {operation} for bucket '{bucket}'."
    if s3_error in ("NoSuchKey",):
        return f"Object '{key}' does not exist in bucket '{bucket}'."
    if s3_error in ("KMS.AccessDeniedException", "KMSAccessDenied", "KMS.NotFoundException"):
        return "S3 could not use the KMS key: grant kms:GenerateDataKey and kms:Decrypt on kms_key_id."
    if s3_error in TRANSIENT_CODES:
        return f"S3 answered {s3_error} on {operation}; meetstore retries with backoff."
    return f"S3 answered {s3_error} on {operation} for bucket '{bucket}'."


def translate(
    exc: Exception,
    *,
    operation: str,
    bucket: str,
    key: str | None = None,
    region: str | None = None,
) -> S3OperationError:
    """The domain error for one failed S3 call."""
    bucket_region: str | None = None
    status: int | None = None
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {}) or {}
        meta = exc.response.get("ResponseMetadata", {}) or {}
        status = meta.get("HTTPStatusCode")
        headers = meta.get("HTTPHeaders", {}) or {}
        bucket_region = headers.get("x-amz-bucket-region") or err.get("Region") or err.get("BucketRegion")
        code = str(err.get("Code") or status or "Unknown")
        code = _BARE_STATUS.get(code, code)
        if code == "NotFound" and operation == "HeadBucket":
            code = "NoSuchBucket"
        if code == "NotFound" and operation == "HeadObject":
            code = "NoSuchKey"
        if code == "BadRequest" and bucket_region and region and bucket_region != region:
            code = "AuthorizationHeaderMalformed"
        transient = code in TRANSIENT_CODES or (status is not None and status >= 500)
    elif isinstance(exc, ProxyConnectionError):
        # The connect-time guard (adapters/s3/egress.py) answered a CONNECT with 403: refused.
        refused = "403" in str(exc.kwargs.get("error", ""))
        code, transient = ("EndpointNotAllowed", False) if refused else ("EndpointUnreachable", True)
    elif isinstance(
        exc, (EndpointConnectionError, ConnectTimeoutError, ReadTimeoutError, ConnectionClosedError)
    ):
        code, transient = "EndpointUnreachable", True
    elif isinstance(exc, (BotoCoreError, OSError, TimeoutError)):
        code, transient = "ConnectionError", True
    else:
        code, transient = "Unknown", False
    message = explain(code, operation, bucket, key, region=region, bucket_region=bucket_region)
    return S3OperationError(
        message,
        s3_error=code,
        operation=operation,
        bucket=bucket,
        key=key,
        transient=transient,
        http_status=status,
    )
