"""Multipart uploads an attempt may leave open in a bucket, and cleaning them up.

A worker killed mid-upload cannot abort its multipart upload; its UploadId is on the artifact row
(recorded the moment CreateMultipartUpload answers), so whoever takes the row over aborts it. A
worker killed between that answer and the write, or a create retried after a lost answer, leaves
an upload nobody recorded: those are found by key (`s3:ListBucketMultipartUploads`) and aborted.
Where the policy allows neither, the bucket's lifecycle rule (AbortIncompleteMultipartUpload) is
what removes them; nothing here ever blocks an upload.
"""

from __future__ import annotations

import logging

from meetstore.domain.ports import MultipartCleanup
from meetstore.errors import S3OperationError

log = logging.getLogger("meetstore.uploads")


def abort_recorded(cleanup: MultipartCleanup, key: str, upload_id: str) -> None:
    """Abort the upload a previous attempt recorded; S3OperationError when S3 errs transiently."""
    if cleanup.abort_multipart(key, upload_id):
        log.info("aborted the multipart upload a previous worker left open for %s", key)
    else:
        log.warning(
            "could not abort a multipart upload left open for %s; a bucket lifecycle rule should "
            "remove incomplete multipart uploads",
            key,
        )


def abort_unrecorded(cleanup: MultipartCleanup, key: str, size: int) -> None:
    """Best effort: abort every multipart upload open for `key`. Only the lease holder uploads to
    a key, so whatever is open there is left over from an earlier attempt."""
    if size < cleanup.multipart_threshold:
        return  # a single PutObject leaves nothing behind
    try:
        aborted = cleanup.abort_open_uploads(key)
    except S3OperationError as err:
        log.info(
            "could not list multipart uploads left open for %s (%s); a bucket lifecycle rule "
            "should remove incomplete multipart uploads",
            key,
            err.s3_error,
        )
        return
    if aborted:
        log.info("aborted %d unrecorded multipart upload(s) left open for %s", aborted, key)


def abort_quietly(cleanup: MultipartCleanup, key: str, upload_id: str) -> bool:
    """After a failed multipart attempt (the transfer manager already tried to abort it): make
    sure. True when it is gone."""
    try:
        return cleanup.abort_multipart(key, upload_id)
    except S3OperationError:
        return False  # recorded on the row: the next attempt aborts it
