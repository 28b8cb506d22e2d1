"""One S3 bucket as an ObjectStore: presign, small reads and writes, streamed uploads."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from typing import Any

from s3transfer.manager import TransferManager

from meetstore.adapters.s3 import deletion
from meetstore.adapters.s3.errors import translate
from meetstore.adapters.s3.presign import Presigner
from meetstore.adapters.s3.upload import MultipartCallback, abort_multipart, abort_open_uploads, upload_stream
from meetstore.domain.cancel import CancelToken
from meetstore.domain.erasure import ObjectOutcome
from meetstore.domain.ports import ObjectOwner, SpoolReader


def sha256_b64_of_bytes(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


def owner_metadata(owner: ObjectOwner) -> dict[str, str]:
    """S3 user metadata naming the bot and account an object belongs to (sent as
    `x-amz-meta-meetstore-bot-id` and `x-amz-meta-meetstore-account-id`)."""
    return {"meetstore-bot-id": owner.bot_id, "meetstore-account-id": owner.account_id}


class S3Bucket:
    """The `ObjectStore` port over a (cached) boto3 client, with its `MultipartCleanup`."""

    def __init__(
        self,
        client: Any,
        bucket: str,
        *,
        region: str,
        extra_put_args: dict[str, str] | None = None,
        manager: TransferManager | None = None,
        presigner: Presigner | None = None,
    ) -> None:
        """`manager`: the client's TransferManager, for streamed uploads (validation probes,
        which write small objects only, need none). `presigner`: the client's for this bucket
        (kept with the client; without one, `generate_presigned_url` signs every URL)."""
        self._client = client
        self._bucket = bucket
        self._region = region
        self.extra_put_args: dict[str, str] = dict(extra_put_args or {})
        self._manager = manager
        self._presigner = presigner or Presigner(client, bucket, None)

    @property
    def bucket(self) -> str:
        return self._bucket

    @property
    def client(self) -> Any:
        return self._client

    @property
    def multipart(self) -> S3Bucket:
        return self

    @property
    def multipart_threshold(self) -> int:
        threshold: int = self._uploads.config.multipart_threshold
        return threshold

    @property
    def _uploads(self) -> TransferManager:
        if self._manager is None:
            raise RuntimeError("this bucket was opened without a TransferManager")
        return self._manager

    def presign_get(self, key: str, expires_in: int) -> str:
        return self._presigner.url(key, expires_in)

    def head_bucket(self) -> None:
        try:
            self._client.head_bucket(Bucket=self._bucket)
        except Exception as exc:
            raise translate(exc, operation="HeadBucket", bucket=self._bucket, region=self._region) from None

    def diagnose_bare_error(self) -> str | None:
        """After a bodiless 403 on HEAD: one listing call whose error body names the real code."""
        try:
            self._client.list_objects_v2(Bucket=self._bucket, MaxKeys=1)
        except Exception as exc:
            return translate(
                exc, operation="ListObjectsV2", bucket=self._bucket, region=self._region
            ).s3_error
        return None

    def put_bytes(self, key: str, data: bytes, *, content_type: str) -> None:
        try:
            self._client.put_object(
                Bucket=self._bucket,
                Key=key,
                Body=data,
                ContentType=content_type,
                ChecksumSHA256=sha256_b64_of_bytes(data),
                **self.extra_put_args,
            )
        except Exception as exc:
            raise translate(
                exc, operation="PutObject", bucket=self._bucket, key=key, region=self._region
            ) from None

    def read_bytes(self, key: str, max_bytes: int) -> bytes:
        try:
            resp = self._client.get_object(Bucket=self._bucket, Key=key)
            body = resp["Body"]
            try:
                data: bytes = body.read(max_bytes + 1)
            finally:
                body.close()
        except Exception as exc:
            raise translate(
                exc, operation="GetObject", bucket=self._bucket, key=key, region=self._region
            ) from None
        if len(data) > max_bytes:
            raise ValueError(f"object {key} is larger than {max_bytes} bytes")
        return data

    def upload_stream(
        self,
        stream: SpoolReader,
        key: str,
        *,
        content_type: str,
        sha256_b64: str,
        on_multipart_created: MultipartCallback | None = None,
        cancel: CancelToken | None = None,
        owner: ObjectOwner | None = None,
    ) -> None:
        """Stream a spooled file to `key` (multipart above the threshold); see `upload.upload_stream`."""
        extra: dict[str, Any] = dict(self.extra_put_args)
        if owner is not None:
            extra["Metadata"] = owner_metadata(owner)
        upload_stream(
            self._uploads,
            self._bucket,
            stream,
            key,
            content_type=content_type,
            sha256_b64=sha256_b64,
            size=stream.size,
            extra_args=extra,
            region=self._region,
            on_multipart_created=on_multipart_created,
            cancel=cancel,
        )

    def delete_objects(self, keys: Sequence[str]) -> dict[str, ObjectOutcome]:
        return deletion.delete_objects(self._client, self._bucket, keys, region=self._region)

    def keys_under(self, prefix: str) -> set[str] | None:
        return deletion.keys_under(self._client, self._bucket, prefix, region=self._region)

    def abort_multipart(self, key: str, upload_id: str) -> bool:
        """Abort an open multipart upload; False when the policy does not allow it."""
        return abort_multipart(self._client, self._bucket, key, upload_id, region=self._region)

    def abort_open_uploads(self, key: str) -> int:
        """Abort every multipart upload open for `key` (needs s3:ListBucketMultipartUploads)."""
        return abort_open_uploads(self._client, self._bucket, key, region=self._region)
