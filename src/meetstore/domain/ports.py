"""Ports: what services need from the outside world, as Protocols adapters implement.

The repository ports (the database) are in `domain/repositories.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol

from meetstore.domain.cancel import CancelToken
from meetstore.domain.erasure import ObjectOutcome
from meetstore.domain.storage_config import AccessMode
from meetstore.domain.storage_target import ActiveStorage, S3Target


class Clock(Protocol):
    def now(self) -> datetime: ...


class SecretBox(Protocol):
    """Envelope encryption of small secrets, bound to an account and a purpose."""

    def seal(self, plaintext: str, *, account_id: str, purpose: str) -> bytes: ...

    def open(self, blob: bytes, *, account_id: str, purpose: str) -> str: ...


class KeyWrap(Protocol):
    """The spool's key hierarchy below the master key: fresh keys, and a bot's data key wrapped
    under its account's key (bound to the bot, so a wrapped key copied to another bot fails)."""

    def new_key(self) -> bytes: ...

    def wrap(self, key: bytes, *, under: bytes, bot_id: str) -> bytes: ...

    def unwrap(self, wrapped: bytes, *, under: bytes, bot_id: str) -> bytes:
        """The data key; SpoolKeyUnavailable when it does not open."""
        ...


class SpoolKeys(Protocol):
    """Each bot's spool data key (`services.spool_keys`)."""

    def data_key(self, account_id: str, bot_id: str, *, create: bool = False) -> bytes:
        """The key; `create` makes it when missing, else a missing key is SpoolKeyUnavailable."""
        ...


class KeyRewrapper(Protocol):
    """Master-key rotation: which master key wrapped a blob, and re-wrapping it under the current one."""

    def current_key_id(self) -> str: ...

    def key_id_of(self, blob: bytes) -> str: ...

    def rewrap(self, blob: bytes, *, account_id: str, purpose: str) -> bytes: ...


class MultipartCleanup(Protocol):
    """What only an S3 bucket has: multipart uploads a dead attempt may have left open."""

    @property
    def multipart_threshold(self) -> int:
        """Files this large or larger go up as multipart uploads."""
        ...

    def abort_multipart(self, key: str, upload_id: str) -> bool:
        """Abort one upload; False when the policy does not allow it (a lifecycle rule must)."""
        ...

    def abort_open_uploads(self, key: str) -> int:
        """Abort every upload open for `key`; how many (needs s3:ListBucketMultipartUploads)."""
        ...


@dataclass(frozen=True, slots=True)
class ObjectOwner:
    """Whose object a write is: stored with it (S3 user metadata `meetstore-bot-id`,
    `meetstore-account-id`) so a customer's CloudTrail and inventory attribute it to a bot."""

    bot_id: str
    account_id: str


class SpoolReader(Protocol):
    """A spooled file's plaintext as a seekable binary stream (decrypted as it is read)."""

    size: int

    def read(self, size: int = -1, /) -> bytes: ...

    def seek(self, offset: int, whence: int = 0, /) -> int: ...

    def tell(self) -> int: ...

    def close(self) -> None: ...

    def clone(self) -> SpoolReader:
        """Another reader of the same file, at its start, for another thread."""
        ...

    def __enter__(self) -> SpoolReader: ...

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None, /
    ) -> None: ...


class ObjectStore(Protocol):
    """One bucket (or the local platform folder) meetstore writes to and signs URLs for."""

    @property
    def bucket(self) -> str: ...

    @property
    def multipart(self) -> MultipartCleanup | None:
        """The multipart capability, on stores that have one."""
        ...

    def upload_stream(
        self,
        stream: SpoolReader,
        key: str,
        *,
        content_type: str,
        sha256_b64: str,
        on_multipart_created: Callable[[str], None] | None = None,
        cancel: CancelToken | None = None,
        owner: ObjectOwner | None = None,
    ) -> None:
        """Stream a spooled file's plaintext to `key` with its checksum (and its owner, where the
        store keeps metadata); S3OperationError, OSError, SpoolFileDamaged or UploadCancelled."""
        ...

    def presign_get(self, key: str, expires_in: int) -> str: ...

    def read_bytes(self, key: str, max_bytes: int) -> bytes: ...

    def delete_objects(self, keys: Sequence[str]) -> dict[str, ObjectOutcome]:
        """Delete `keys` (every version, where the store keeps versions and may delete them);
        what happened to each. S3OperationError only for a transient failure."""
        ...

    def keys_under(self, prefix: str) -> set[str] | None:
        """Every key stored that starts with `prefix`; None when the store will not list them
        (no s3:ListBucket). S3OperationError only for a transient failure."""
        ...


class Stores(Protocol):
    """Every store meetstore writes to: the platform store, and customers' buckets."""

    @property
    def platform(self) -> ObjectStore: ...

    @property
    def platform_signs_locally(self) -> bool:
        """Whether the platform store signs a URL without any I/O (no credential fetch)."""
        ...

    @property
    def platform_region(self) -> str: ...

    @property
    def platform_endpoint_url(self) -> str | None: ...

    def platform_prefix(self, account_id: str) -> str:
        """Where an account's files live in the platform store (namespaced by account)."""
        ...

    def custom(self, active: ActiveStorage) -> ObjectStore:
        """The customer's bucket, through the cached client of (account, config version)."""
        ...

    def custom_if_ready(self, active: ActiveStorage) -> ObjectStore | None:
        """The same, only when its client is cached and current (no I/O to get it): None
        otherwise, and `custom` must be asked off the event loop."""
        ...

    def forget(self, account_id: str) -> None:
        """Drop what is cached for an account's bucket (its configuration changed)."""
        ...


class ValidationCheck(Protocol):
    def as_dict(self) -> dict[str, object]: ...


class StorageProbe(Protocol):
    """Live checks of a bucket with the credentials a configuration would use."""

    def validate(
        self,
        target: S3Target,
        access_mode: AccessMode,
        prefixes: Sequence[str],
        *,
        timeout_s: float,
        extra_put_args: dict[str, str],
        probe_token: str | None = None,
    ) -> Sequence[ValidationCheck]:
        """The checks saving runs; StorageValidationFailed with the S3 error when one fails."""
        ...

    def diagnose(
        self,
        target: S3Target,
        prefixes: Sequence[str],
        *,
        timeout_s: float,
        extra_put_args: dict[str, str],
    ) -> list[dict[str, Any]]:
        """Every operation meetstore uses, per prefix, each with what IAM is missing."""
        ...


@dataclass(frozen=True)
class SpoolFile:
    """A complete recorded file in a bot's spool: its name, size and SHA-256 (hex)."""

    name: str
    size: int
    sha256: str


class SpoolWriter(Protocol):
    """One file being received; part of the spool only once committed."""

    bot_id: str
    name: str
    size: int
    sha256: str

    def write(self, data: bytes | bytearray | memoryview) -> None: ...

    def finish(self) -> None:
        """Make every byte durable (before `Spool.commit`, which must be quick)."""
        ...

    def abort(self) -> None: ...


class Spool(Protocol):
    """Where recorded files wait for upload, sealed under their bot's data key (`key`); the one
    owner of their layout. Sizes and SHA-256 are of the plaintext."""

    def begin(self, bot_id: str, name: str, key: bytes) -> SpoolWriter: ...

    def commit(self, writer: SpoolWriter) -> bool:
        """Make a finished file part of the bot's spool; whether it replaced one. Quick: it runs
        with the bot's row locked."""
        ...

    def files(self, bot_id: str, accept: Callable[[str], bool], key: bytes) -> dict[str, SpoolFile]:
        """Every complete file of the bot whose name `accept`s, with its size and SHA-256."""
        ...

    def write_small(self, bot_id: str, name: str, data: bytes, key: bytes) -> SpoolFile:
        """Write a small file whole (the manifest), durably."""
        ...

    def read_small(self, bot_id: str, name: str, max_bytes: int, key: bytes) -> bytes | None:
        """A small file's bytes; None when it is missing or larger than `max_bytes`."""
        ...

    def open(self, bot_id: str, name: str, key: bytes) -> SpoolReader:
        """The file's plaintext, for streaming it to a store; FileNotFoundError when it is gone,
        SpoolFileDamaged when it does not open under `key`."""
        ...

    def exists(self, bot_id: str, name: str) -> bool: ...

    def delete(self, bot_id: str, name: str) -> None: ...

    def remove_bot(self, bot_id: str) -> None:
        """Remove what is left of a bot's spool (nothing of it is needed any more)."""
        ...

    def names(self, bot_id: str) -> list[str]:
        """Every file kept for the bot (complete or not), by name."""
        ...


class MediaProbe(Protocol):
    def video_info(self, stream: SpoolReader) -> dict[str, Any] | None:
        """video_info of a recorded MP4 (duration, resolution, fps, ...), or None."""
        ...


class Metrics(Protocol):
    """What the application counts (exported at /metrics)."""

    def upload_finished(self, outcome: str, size: int, seconds: float) -> None:
        """One upload attempt ended (uploaded, retry, failed, lost, released)."""
        ...

    def fetch_answered(self, endpoint: str, code: str) -> None:
        """A fetch endpoint answered: `ok`, or the error code of its body."""
        ...

    def webhook_attempted(self, state: str) -> None:
        """One delivery attempt was recorded; the event is now delivered, pending, dead or lost."""
        ...

    def validation_ran(self, kind: str, ok: bool, seconds: float) -> None:
        """A live check of a bucket ran (save, deep diagnosis, health)."""
        ...
