"""Streamed uploads from disk with s3transfer's TransferManager (multipart above a threshold).

The object is written with its Content-Type and a SHA-256 checksum that S3 verifies (per part for
multipart uploads). A failed multipart upload is aborted by the TransferManager.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from boto3.s3.transfer import TransferConfig
from s3transfer.manager import TransferManager

from meetstore.adapters.s3.errors import translate

MB = 1024 * 1024


def transfer_config(threshold_mb: int, chunksize_mb: int, max_concurrency: int) -> TransferConfig:
    return TransferConfig(
        multipart_threshold=threshold_mb * MB,
        multipart_chunksize=chunksize_mb * MB,
        max_concurrency=max_concurrency,
        use_threads=True,
    )


def upload_file(
    client: Any,
    bucket: str,
    path: Path,
    key: str,
    *,
    content_type: str,
    sha256_b64: str,
    config: TransferConfig,
    size: int,
    extra_args: dict[str, str] | None = None,
    region: str | None = None,
) -> None:
    """Upload one file; raise S3OperationError (transient or not) on failure."""
    args: dict[str, Any] = {"ContentType": content_type, **(extra_args or {})}
    multipart = size >= config.multipart_threshold
    if multipart:
        args["ChecksumAlgorithm"] = "SHA256"
    else:
        args["ChecksumSHA256"] = sha256_b64
    operation = "CreateMultipartUpload" if multipart else "PutObject"
    try:
        with TransferManager(client, config) as manager:
            future = manager.upload(str(path), bucket, key, extra_args=args)
            future.result()
    except Exception as exc:
        err = translate(
            exc, operation="PutObject" if not multipart else operation, bucket=bucket, key=key, region=region
        )
        raise err from None
