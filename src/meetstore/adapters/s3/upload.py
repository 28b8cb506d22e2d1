"""Streamed uploads from disk with s3transfer's TransferManager (multipart above a threshold).

The object is written with its Content-Type and a SHA-256 checksum that S3 verifies: the whole
object's digest (from the artifact row) for a single PutObject, a per-part SHA-256 for a multipart
upload (S3 stores the composite `<sha256 of part digests>-<parts>`; SHA-256 has no full-object
variant for multipart). Memory stays bounded at about `max_concurrency x multipart_chunksize`
whatever the file size: parts are read from disk as they are sent.

Every upload of a client goes through that client's one long-lived TransferManager (s3transfer's
own model: its threads, and its bound on memory, are shared by all uploads to the bucket). A
failed or cancelled multipart upload is aborted by the TransferManager. A process killed in the
middle cannot abort anything, so the caller is told the UploadId the moment CreateMultipartUpload
returns (`on_multipart_created`) to record it durably; whoever takes the work over aborts it
(`abort_multipart`).
"""

from __future__ import annotations

import logging
import secrets
import threading
import weakref
from collections.abc import Callable, Mapping
from typing import Any

from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError
from s3transfer.manager import TransferManager
from s3transfer.utils import OSUtils

from meetstore.adapters.s3.errors import translate
from meetstore.domain.cancel import CancelToken
from meetstore.domain.ports import SpoolReader
from meetstore.errors import SpoolFileDamaged, Unavailable, UploadCancelled

MB = 1024 * 1024
log = logging.getLogger("meetstore.upload")

MultipartCallback = Callable[[str], None]
"""Called with the UploadId as soon as CreateMultipartUpload returns (on an s3transfer thread)."""


class SpooledFiles(OSUtils):  # type: ignore[misc]  # s3transfer ships no types
    """s3transfer's file access, extended to spooled files: an upload names its stream by a token,
    and each part thread opens a reader of its own (`SpoolReader.clone`) that it reads lazily, as
    s3transfer reads a part of a file on disk. So no part is read into memory ahead of its
    sending (s3transfer does that for a file-like source), and a worker's memory stays that of
    uploading files. Tokens are registered for the life of one upload."""

    def __init__(self) -> None:
        super().__init__()
        self._streams: dict[str, SpoolReader] = {}
        self._lock = threading.Lock()

    def register(self, stream: SpoolReader) -> str:
        token = f"meetstore-spool:{secrets.token_hex(12)}"
        with self._lock:
            self._streams[token] = stream
        return token

    def unregister(self, token: str) -> None:
        with self._lock:
            self._streams.pop(token, None)

    def _stream(self, filename: str) -> SpoolReader | None:
        with self._lock:
            return self._streams.get(filename)

    def get_file_size(self, filename: str) -> int:
        stream = self._stream(filename)
        return int(super().get_file_size(filename)) if stream is None else stream.size

    def open(self, filename: str, mode: str) -> Any:
        stream = self._stream(filename)
        return super().open(filename, mode) if stream is None else stream.clone()


SPOOLED_FILES = SpooledFiles()
"""One registry for every TransferManager of the process (tokens are unique)."""


def new_manager(client: Any, config: TransferConfig) -> TransferManager:
    return TransferManager(client, config, osutil=SPOOLED_FILES)


def transfer_config(threshold_mb: int, chunksize_mb: int, max_concurrency: int) -> TransferConfig:
    config = TransferConfig(
        multipart_threshold=threshold_mb * MB,
        multipart_chunksize=chunksize_mb * MB,
        max_concurrency=max_concurrency,
        use_threads=True,
    )
    return config


class _MultipartWatch:
    """One per client: routes `after-call.s3.CreateMultipartUpload` to the upload that asked.

    A single handler is registered on the (shared, cached) client once; uploads register and
    unregister their (bucket, key) here, so concurrent uploads never touch the client's event
    emitter while it is in use.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[tuple[str, str], MultipartCallback] = {}

    def add(self, bucket: str, key: str, callback: MultipartCallback) -> None:
        with self._lock:
            self._waiting[(bucket, key)] = callback

    def remove(self, bucket: str, key: str, callback: MultipartCallback) -> None:
        with self._lock:
            if self._waiting.get((bucket, key)) is callback:
                del self._waiting[(bucket, key)]

    def handle(self, parsed: dict[str, Any] | None = None, **_kwargs: Any) -> None:
        if not parsed or "UploadId" not in parsed:
            return
        bucket, key = str(parsed.get("Bucket", "")), str(parsed.get("Key", ""))
        with self._lock:
            callback = self._waiting.get((bucket, key))
        if callback is None:
            return
        try:
            callback(str(parsed["UploadId"]))
        except Exception:  # recording is best effort; the upload itself goes on
            log.exception("could not record a multipart upload id")


_WATCHES: weakref.WeakKeyDictionary[Any, _MultipartWatch] = weakref.WeakKeyDictionary()
_WATCHES_LOCK = threading.Lock()


def _watch_for(client: Any) -> _MultipartWatch:
    with _WATCHES_LOCK:
        watch = _WATCHES.get(client)
        if watch is None:
            watch = _MultipartWatch()
            _WATCHES[client] = watch
            client.meta.events.register(
                "after-call.s3.CreateMultipartUpload", watch.handle, unique_id="meetstore-multipart-watch"
            )
        return watch


def upload_stream(
    manager: TransferManager,
    bucket: str,
    stream: SpoolReader,
    key: str,
    *,
    content_type: str,
    sha256_b64: str,
    size: int,
    extra_args: Mapping[str, Any] | None = None,
    region: str | None = None,
    on_multipart_created: MultipartCallback | None = None,
    cancel: CancelToken | None = None,
) -> None:
    """Upload one spooled file through the client's long-lived TransferManager: each part thread
    reads the plaintext of its part through a reader of its own (`SpooledFiles`).
    Raise S3OperationError (transient or not), SpoolFileDamaged when the spooled file does not
    open, or UploadCancelled when `cancel` is set meanwhile."""
    args: dict[str, Any] = {"ContentType": content_type, **(extra_args or {})}
    multipart = size >= manager.config.multipart_threshold
    # The algorithm header (x-amz-sdk-checksum-algorithm) goes along with our own digest so that
    # S3-compatible stores that key on it (and AWS) record the checksum, not only verify it.
    args["ChecksumAlgorithm"] = "SHA256"
    if not multipart:
        args["ChecksumSHA256"] = sha256_b64
    default_operation = "CreateMultipartUpload" if multipart else "PutObject"
    watch = _watch_for(manager.client) if multipart and on_multipart_created is not None else None
    if watch is not None and on_multipart_created is not None:
        watch.add(bucket, key, on_multipart_created)
    stop_watching_cancel: Callable[[], None] = lambda: None  # noqa: E731
    stop_registration: Callable[[], None] = lambda: None  # noqa: E731
    try:
        token = SPOOLED_FILES.register(stream)
        stop_registration = lambda: SPOOLED_FILES.unregister(token)  # noqa: E731
        future = manager.upload(token, bucket, key, extra_args=args)
        if cancel is not None:
            # A cancelled future fails its transfer; the manager aborts its multipart upload.
            stop_watching_cancel = cancel.on_cancel(future.cancel)
        future.result()
    except Exception as exc:
        if cancel is not None and cancel.is_set():
            raise UploadCancelled(key) from None
        if isinstance(exc, (SpoolFileDamaged, Unavailable)):
            raise  # reading the spooled file failed, not writing to the bucket
        operation = getattr(exc, "operation_name", None) or default_operation
        raise translate(exc, operation=operation, bucket=bucket, key=key, region=region) from None
    finally:
        stop_registration()
        stop_watching_cancel()
        if watch is not None and on_multipart_created is not None:
            watch.remove(bucket, key, on_multipart_created)


def abort_multipart(client: Any, bucket: str, key: str, upload_id: str, *, region: str | None = None) -> bool:
    """Abort a multipart upload left open by a dead worker.

    True when it is gone (aborted now, or already gone: NoSuchUpload); False when it cannot be
    aborted (AccessDenied: the policy lacks s3:AbortMultipartUpload, or another permanent error),
    in which case a bucket lifecycle rule must clean it up. Raises S3OperationError only for a
    transient error (try again later).
    """
    try:
        client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
    except Exception as exc:
        code = ""
        if isinstance(exc, ClientError):
            code = str((exc.response.get("Error") or {}).get("Code") or "")
        if code in ("NoSuchUpload", "404", "NotFound"):
            return True
        err = translate(exc, operation="AbortMultipartUpload", bucket=bucket, key=key, region=region)
        if err.transient:
            raise err from None
        log.warning("could not abort multipart upload of %s: %s", key, err.s3_error)
        return False
    return True


def abort_open_uploads(client: Any, bucket: str, key: str, *, region: str | None = None) -> int:
    """Abort every multipart upload open for exactly `key`; returns how many were aborted.

    For uploads nobody recorded: a worker killed between CreateMultipartUpload's answer and
    writing its UploadId down, or a create whose answer was lost and retried. Needs
    `s3:ListBucketMultipartUploads` on the bucket; without it S3OperationError (not transient)
    says so, and a lifecycle rule (AbortIncompleteMultipartUpload) must clean up instead.
    """
    aborted = 0
    marker: dict[str, str] = {}
    for _page in range(20):  # one key has a handful of uploads at most; bounded either way
        try:
            resp = client.list_multipart_uploads(Bucket=bucket, Prefix=key, **marker)
        except Exception as exc:
            raise translate(
                exc, operation="ListMultipartUploads", bucket=bucket, key=key, region=region
            ) from None
        for upload in resp.get("Uploads", []):
            if upload.get("Key") == key and abort_multipart(
                client, bucket, key, str(upload["UploadId"]), region=region
            ):
                aborted += 1
        if not resp.get("IsTruncated"):
            break
        marker = {
            "KeyMarker": str(resp.get("NextKeyMarker", "")),
            "UploadIdMarker": str(resp.get("NextUploadIdMarker", "")),
        }
    return aborted
