"""The embedded platform store: a local folder, served by meetstore itself at `/files/<token>`.

Download URLs carry an HMAC-SHA256-signed token (key, expiry); a tampered or expired token is
refused. The signing key lives in `<data_dir>/url-signing.key` (0600), generated on first use.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import os
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from meetstore.adapters.secret_files import SecretFileError, read_or_create
from meetstore.domain.cancel import CancelToken
from meetstore.domain.erasure import DELETED, NOT_FOUND, ObjectOutcome
from meetstore.domain.ports import ObjectOwner, SpoolReader

LOCAL_BUCKET = "meetstore-platform"


class TokenError(Exception):
    """A download token that is malformed, tampered with or expired."""


def _b64e(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def load_signing_key(data_dir: Path) -> bytes:
    path = data_dir / "url-signing.key"
    text = read_or_create(path, lambda: base64.b64encode(secrets.token_bytes(32)).decode())
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except ValueError:
        key = b""
    if len(key) < 32:  # a short key would make download tokens guessable
        raise SecretFileError(f"{path} does not hold a 32-byte key.")
    return key


@dataclass(frozen=True)
class SignedObject:
    key: str
    expires_at: int


class LocalPlatformStore:
    """The `ObjectStore` port over a folder."""

    def __init__(self, root: Path, signing_key: bytes, public_base_url: Callable[[], str]) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)
        self._signing_key = signing_key
        self._public_base_url = public_base_url

    @property
    def bucket(self) -> str:
        return LOCAL_BUCKET

    @property
    def multipart(self) -> None:
        """A folder has no multipart uploads to clean up."""
        return None

    def path_of(self, key: str) -> Path:
        if not key or key.startswith("/") or "\\" in key or any(p in ("", ".", "..") for p in key.split("/")):
            raise ValueError("unsafe key")
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise ValueError("unsafe key")
        return path

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
        """Copy the file's plaintext in (checking its SHA-256); a copy is one step, never
        multipart. A folder keeps no metadata: the key itself names the account and the bot."""
        dest = self.path_of(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + f".part-{secrets.token_hex(4)}")
        digest = hashlib.sha256()
        stream.seek(0)
        try:
            with tmp.open("wb") as out:
                while chunk := stream.read(1024 * 1024):
                    digest.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        if base64.b64encode(digest.digest()).decode("ascii") != sha256_b64:
            tmp.unlink(missing_ok=True)
            raise OSError(f"checksum mismatch while storing {key}")
        os.replace(tmp, dest)

    def put_bytes(self, key: str, data: bytes, *, content_type: str) -> None:
        dest = self.path_of(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(dest.name + f".part-{secrets.token_hex(4)}")
        tmp.write_bytes(data)
        os.replace(tmp, dest)

    def delete_objects(self, keys: Sequence[str]) -> dict[str, ObjectOutcome]:
        out: dict[str, ObjectOutcome] = {}
        for key in keys:
            path = self.path_of(key)
            try:
                path.unlink()
                out[key] = DELETED
            except FileNotFoundError:
                out[key] = NOT_FOUND
        return out

    def keys_under(self, prefix: str) -> set[str] | None:
        folder, _, start = prefix.rpartition("/")
        base = self.path_of(folder) if folder else self.root
        if not base.is_dir():
            return set()
        found: set[str] = set()
        with os.scandir(base) as entries:
            for entry in entries:
                if not entry.name.startswith(start) or ".part-" in entry.name:
                    continue
                path = Path(entry.path)
                files = [path] if entry.is_file() else [p for p in path.rglob("*") if p.is_file()]
                found.update(p.relative_to(self.root).as_posix() for p in files if ".part-" not in p.name)
        return found

    def read_bytes(self, key: str, max_bytes: int) -> bytes:
        path = self.path_of(key)
        if path.stat().st_size > max_bytes:
            raise ValueError(f"object {key} is larger than {max_bytes} bytes")
        return path.read_bytes()

    # --- signed download URLs -----------------------------------------------------------------
    def sign(self, key: str, expires_in: int, *, now: float | None = None) -> str:
        start = time.time() if now is None else now
        # Rounded up: a URL may live a fraction of a second longer than promised, never shorter.
        payload = json.dumps({"k": key, "e": math.ceil(start + expires_in)}, separators=(",", ":"))
        body = _b64e(payload.encode())
        mac = _b64e(hmac.new(self._signing_key, body.encode(), hashlib.sha256).digest())
        return f"{body}.{mac}"

    def verify(self, token: str, *, now: float | None = None) -> SignedObject:
        if not token.isascii():  # compare_digest refuses non-ASCII str; a token is base64url + '.'
            raise TokenError("malformed token")
        body, sep, mac = token.partition(".")
        if not sep:
            raise TokenError("malformed token")
        expected = _b64e(hmac.new(self._signing_key, body.encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(expected, mac):
            raise TokenError("bad signature")
        try:
            doc = json.loads(_b64d(body))
            key, exp = str(doc["k"]), int(doc["e"])
        except (ValueError, KeyError, TypeError) as exc:
            raise TokenError("malformed token") from exc
        if (time.time() if now is None else now) > exp:
            raise TokenError("expired")
        return SignedObject(key, exp)

    def presign_get(self, key: str, expires_in: int) -> str:
        return f"{self._public_base_url().rstrip('/')}/files/{self.sign(key, expires_in)}"
