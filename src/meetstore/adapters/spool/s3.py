"""The `Spool` port over an S3 staging bucket: no machine holds a recording that waits for upload,
so any API process may take a runtime's files and any worker on any machine may upload them.

Per bot (`{prefix}/{bot_id}/`):
- `objects/{random}/{name}`: a sealed file (`crypto.stream`), written as it arrives: a multipart
  upload opened once a part's worth of ciphertext is buffered (a small file is one PutObject),
  so memory is one part per file being received, never the file;
- `files/{name}.json`: the pointer that makes a file part of the spool: which object holds it,
  its plaintext size and SHA-256 (computed on the way in), its sealed size. Written by `commit`
  (one small PutObject, quick under the bot's lock), so "left" sees a file whole or not at all;
  an object with no pointer (a receipt cut short, a process killed before its commit) is never
  taken for a file, and goes with the bot's other staged objects.

An aborted receipt aborts its multipart upload; one left open by a process that died is removed
by the bucket's lifecycle rule (docs/operations.md: abort incomplete multipart uploads). Reads
are ranged GETs of whole sealed chunks, one per read (s3transfer reads a part at a time).
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from meetstore.adapters.crypto.stream import (
    PART_CHUNKS,
    ChunkEncryptor,
    DecryptingReader,
    decrypt_bytes,
    encrypt_bytes,
    plaintext_size,
)
from meetstore.adapters.s3.errors import translate
from meetstore.domain.ports import SpoolFile
from meetstore.domain.ports import SpoolWriter as SpoolFileWriter
from meetstore.errors import S3OperationError, SpoolFileDamaged, SpoolUnavailable, Unavailable

log = logging.getLogger("meetstore.spool")

PART_BYTES = 5 * 1024 * 1024
"""S3's smallest part: what an API process holds of each file it receives. Parts grow by that
much every 1,000 parts, so a file of the 10,000 parts S3 allows may hold 268 GiB."""
PARTS_PER_STEP = 1000
REMEMBERED_OBJECTS = 10_000
POINTERS = "files"
OBJECTS = "objects"


def _missing(exc: Exception) -> bool:
    code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
    return code in ("NoSuchKey", "404", "NotFound")


class S3SpoolWriter:
    """One file being received into staging: sealed and hashed as it arrives; complete only once
    `finish`ed and committed."""

    def __init__(self, spool: S3Spool, bot_id: str, name: str, key: bytes) -> None:
        self.bot_id = bot_id
        self.name = name
        self.size = 0
        self.sha256 = ""
        self.object_key = spool.object_key(bot_id, name)
        self.sealed_size = 0
        self._spool = spool
        self._hash = hashlib.sha256()
        self._sealer = ChunkEncryptor(key, name)
        self._buffer = bytearray(self._sealer.header)
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []
        self._done = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._done:
            raise RuntimeError("writer is closed")
        self._hash.update(data)
        self.size += len(data)
        self._sealer.update_into(data, self._buffer)
        if len(self._buffer) >= PART_BYTES * (1 + len(self._parts) // PARTS_PER_STEP):
            self._send_part()

    def _send_part(self) -> None:
        client, bucket = self._spool.client, self._spool.bucket
        if self._upload_id is None:
            made = self._spool.call("CreateMultipartUpload", self.object_key, client.create_multipart_upload, Bucket=bucket, Key=self.object_key)
            self._upload_id = str(made["UploadId"])
        number = len(self._parts) + 1
        body, self._buffer = self._buffer, bytearray()  # sent as it is: no copy of the part
        sent = self._spool.call(
            "UploadPart", self.object_key, client.upload_part,
            Bucket=bucket, Key=self.object_key, UploadId=self._upload_id, PartNumber=number, Body=body,
        )
        self._parts.append({"PartNumber": number, "ETag": sent["ETag"]})
        self.sealed_size += len(body)

    def finish(self) -> None:
        """Seal the last chunk and make the object whole in staging (not yet part of the spool)."""
        if self._done:
            raise RuntimeError("writer is closed")
        self._done = True
        self._buffer += self._sealer.finalize()
        self.sha256 = self._hash.hexdigest()
        client, bucket = self._spool.client, self._spool.bucket
        if self._upload_id is None:
            body = self._buffer
            self._spool.call("PutObject", self.object_key, client.put_object, Bucket=bucket, Key=self.object_key, Body=body)
            self.sealed_size = len(body)
        else:
            self._send_part()  # the last part may be smaller than 5 MiB
            parts = {"Parts": self._parts}
            self._spool.call(
                "CompleteMultipartUpload", self.object_key, client.complete_multipart_upload,
                Bucket=bucket, Key=self.object_key, UploadId=self._upload_id, MultipartUpload=parts,
            )
        self._buffer = bytearray()

    def abort(self) -> None:
        """Keep nothing of the file: abort its multipart upload, or delete its object."""
        self._done = True
        self._buffer = bytearray()
        client, bucket = self._spool.client, self._spool.bucket
        try:
            if self._upload_id is not None:
                client.abort_multipart_upload(Bucket=bucket, Key=self.object_key, UploadId=self._upload_id)
            client.delete_object(Bucket=bucket, Key=self.object_key)
        except Exception as exc:  # the lifecycle rule, or the bot's removal, takes what is left
            log.info("aborting a staged receipt failed: %s", type(exc).__name__)


class S3Spool:
    def __init__(self, client: Any, bucket: str, prefix: str, *, region: str | None = None) -> None:
        self.client = client
        self.bucket = bucket
        self._prefix = prefix.strip("/")
        self._region = region
        # The object each pointer read named, so deleting a file just uploaded is one call. A stale
        # entry (the file replaced in another process) deletes the old object and the pointer; the
        # new object, then unnamed, goes with the bot's removal.
        self._objects: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._objects_lock = threading.Lock()

    def _remember(self, bot_id: str, name: str, object_key: str) -> None:
        with self._objects_lock:
            self._objects[(bot_id, name)] = object_key
            while len(self._objects) > REMEMBERED_OBJECTS:
                self._objects.popitem(last=False)

    # --- layout -------------------------------------------------------------------------------
    def _bot_prefix(self, bot_id: str) -> str:
        head = f"{self._prefix}/" if self._prefix else ""
        return f"{head}{bot_id}/"

    def object_key(self, bot_id: str, name: str) -> str:
        return f"{self._bot_prefix(bot_id)}{OBJECTS}/{secrets.token_hex(12)}/{name}"

    def _pointer_key(self, bot_id: str, name: str) -> str:
        return f"{self._bot_prefix(bot_id)}{POINTERS}/{name}.json"

    def _unavailable(self, exc: Exception, operation: str, key: str) -> SpoolUnavailable:
        err: S3OperationError = translate(exc, operation=operation, bucket=self.bucket, key=key, region=self._region)
        return SpoolUnavailable(f"The staging store failed ({err.s3_error} on {operation}); try again.")

    def call(self, operation: str, key: str, do: Callable[..., Any], **kwargs: Any) -> Any:
        """One S3 call; a failure is SpoolUnavailable (its message names no secret)."""
        try:
            return do(**kwargs)
        except Exception as exc:
            raise self._unavailable(exc, operation, key) from None

    def _pointer(self, bot_id: str, name: str) -> dict[str, Any] | None:
        key = self._pointer_key(bot_id, name)
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
            try:
                raw = body.read()
            finally:
                body.close()
        except Exception as exc:
            if _missing(exc):
                return None
            raise self._unavailable(exc, "GetObject", key) from None
        try:
            doc = json.loads(raw)
            found = {"object": str(doc["object"]), "size": int(doc["size"]), "sha256": str(doc["sha256"]), "sealed": int(doc["sealed"])}
        except (ValueError, KeyError, TypeError):
            raise SpoolFileDamaged(f"the staging pointer of {name} is damaged") from None
        self._remember(bot_id, name, str(found["object"]))
        return found

    def _put_pointer(self, bot_id: str, name: str, doc: dict[str, Any]) -> None:
        key = self._pointer_key(bot_id, name)
        body = json.dumps(doc).encode()
        self.call("PutObject", key, self.client.put_object, Bucket=self.bucket, Key=key, Body=body)

    def _keys_under(self, prefix: str) -> list[str]:
        keys: list[str] = []
        token: str | None = None
        while True:
            args: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix}
            if token:
                args["ContinuationToken"] = token
            page = self.call("ListObjectsV2", prefix, self.client.list_objects_v2, **args)
            keys += [str(o["Key"]) for o in page.get("Contents", [])]
            if not page.get("IsTruncated"):
                return keys
            token = page.get("NextContinuationToken")

    def _delete_keys(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):
            batch = {"Objects": [{"Key": k} for k in keys[start : start + 1000]], "Quiet": True}
            done = self.call("DeleteObjects", keys[start], self.client.delete_objects, Bucket=self.bucket, Delete=batch)
            refused = done.get("Errors") or []
            if refused:  # an erasure must never report a staged copy gone that is not
                code = refused[0].get("Code", "")
                raise SpoolUnavailable(f"The staging store refused to delete {len(refused)} objects ({code}); try again.")

    # --- the port ------------------------------------------------------------------------------
    def begin(self, bot_id: str, name: str, key: bytes) -> S3SpoolWriter:
        return S3SpoolWriter(self, bot_id, name, key)

    def commit(self, writer: SpoolFileWriter) -> bool:
        if not isinstance(writer, S3SpoolWriter) or not writer.sha256:
            raise TypeError("not a finished writer of this spool")
        old = self._pointer(writer.bot_id, writer.name)
        doc = {"object": writer.object_key, "size": writer.size, "sha256": writer.sha256, "sealed": writer.sealed_size}
        self._put_pointer(writer.bot_id, writer.name, doc)
        if old is not None and old["object"] != writer.object_key:
            self._delete_keys([old["object"]])
        return old is not None

    def files(self, bot_id: str, accept: Callable[[str], bool], key: bytes) -> dict[str, SpoolFile]:
        head = f"{self._bot_prefix(bot_id)}{POINTERS}/"
        out: dict[str, SpoolFile] = {}
        for pointer_key in self._keys_under(head):
            name = pointer_key[len(head) : -len(".json")]
            if not pointer_key.endswith(".json") or not accept(name):
                continue
            doc = self._pointer(bot_id, name)
            if doc is not None:
                out[name] = SpoolFile(name, doc["size"], doc["sha256"])
        return out

    def write_small(self, bot_id: str, name: str, data: bytes, key: bytes) -> SpoolFile:
        sealed = encrypt_bytes(key, name, data)
        object_key = self.object_key(bot_id, name)
        self.call("PutObject", object_key, self.client.put_object, Bucket=self.bucket, Key=object_key, Body=sealed)
        sha = hashlib.sha256(data).hexdigest()
        old = self._pointer(bot_id, name)
        self._put_pointer(bot_id, name, {"object": object_key, "size": len(data), "sha256": sha, "sealed": len(sealed)})
        if old is not None:
            self._delete_keys([old["object"]])
        return SpoolFile(name, len(data), sha)

    def read_small(self, bot_id: str, name: str, max_bytes: int, key: bytes) -> bytes | None:
        try:
            doc = self._pointer(bot_id, name)
            if doc is None or plaintext_size(doc["sealed"]) > max_bytes:
                return None
            return decrypt_bytes(key, name, self._read_range(doc["object"], 0, doc["sealed"]))
        except (Unavailable, SpoolFileDamaged):
            return None

    def _read_range(self, object_key: str, offset: int, length: int) -> bytes:
        if length <= 0:
            return b""
        ranged = f"bytes={offset}-{offset + length - 1}"

        def get() -> bytes:
            body = self.client.get_object(Bucket=self.bucket, Key=object_key, Range=ranged)["Body"]
            try:
                data: bytes = body.read()
            finally:
                body.close()
            return data

        result: bytes = self.call("GetObject", object_key, get)
        return result

    def open(self, bot_id: str, name: str, key: bytes) -> DecryptingReader:
        doc = self._pointer(bot_id, name)
        if doc is None:
            raise FileNotFoundError(name)
        object_key = doc["object"]
        return DecryptingReader(
            key, name, lambda off, n: self._read_range(object_key, off, n), doc["sealed"], keep_chunks=PART_CHUNKS
        )

    def exists(self, bot_id: str, name: str) -> bool:
        return self._pointer(bot_id, name) is not None

    def delete(self, bot_id: str, name: str) -> None:
        """The file's pointer and its object; when this process has not read the pointer, every
        staged object of that name (committed or not)."""
        with self._objects_lock:
            known = self._objects.pop((bot_id, name), None)
        if known is not None:
            keys = [known]
        else:
            prefix = self._bot_prefix(bot_id)
            keys = [k for k in self._keys_under(f"{prefix}{OBJECTS}/") if _name_of(prefix, k) == name]
        self._delete_keys([self._pointer_key(bot_id, name), *keys])

    def remove_bot(self, bot_id: str) -> None:
        self._delete_keys(self._keys_under(self._bot_prefix(bot_id)))

    def names(self, bot_id: str) -> list[str]:
        prefix = self._bot_prefix(bot_id)
        found: set[str] = set()
        for k in self._keys_under(prefix):
            if k.startswith(f"{prefix}{POINTERS}/") and k.endswith(".json"):
                found.add(k[len(f"{prefix}{POINTERS}/") : -len(".json")])
            elif k.startswith(f"{prefix}{OBJECTS}/"):
                found.add(_name_of(prefix, k))
        return sorted(found)


def _name_of(bot_prefix: str, object_key: str) -> str:
    """`{bot}/objects/{random}/{name}` → name (which may hold slashes: screenshots/00001.png)."""
    rest = object_key[len(f"{bot_prefix}{OBJECTS}/") :]
    return rest.split("/", 1)[1] if "/" in rest else rest
