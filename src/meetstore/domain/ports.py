"""Ports: what services need from the outside world, as Protocols adapters implement."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SecretBox(Protocol):
    """Envelope encryption of small secrets, bound to an account and a purpose."""

    def seal(self, plaintext: str, *, account_id: str, purpose: str) -> bytes: ...

    def open(self, blob: bytes, *, account_id: str, purpose: str) -> str: ...


class ObjectStore(Protocol):
    """One bucket (or the local platform folder) meetstore writes to and signs URLs for."""

    @property
    def bucket(self) -> str: ...

    def upload_file(self, path: Path, key: str, *, content_type: str, sha256_b64: str) -> None: ...

    def presign_get(self, key: str, expires_in: int) -> str: ...

    def read_bytes(self, key: str, max_bytes: int) -> bytes: ...
