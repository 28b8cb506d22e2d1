"""Envelope encryption of secrets (customer keys, webhook secrets).

Each secret gets a fresh 256-bit data key (DEK). The secret is sealed with AES-GCM under the DEK;
the DEK is wrapped by the master key of a `KeyProvider`. The blob carries the master key's id, so
a rotation can re-wrap DEKs without touching the sealed secret. The account id and the purpose are
associated data: a blob copied to another account or field fails to open.

Blob layout: b"MSE1" | len(key_id):u8 | key_id | len(wrapped):u16 | wrapped | nonce(12) | ciphertext
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from meetstore.adapters.secret_files import SecretFileError, read_or_create, replace_private

_MAGIC = b"MSE1"


class DecryptionError(Exception):
    """A blob that cannot be opened (wrong key, wrong account, tampered). Says nothing secret."""


class KeyProvider(Protocol):
    """Wraps data keys under a master key. Local keyring here; AWS KMS can implement it too."""

    def current_key_id(self) -> str: ...

    def wrap(self, dek: bytes, aad: bytes) -> tuple[str, bytes]: ...

    def unwrap(self, key_id: str, wrapped: bytes, aad: bytes) -> bytes: ...


def key_id_for(master_key: bytes) -> str:
    return "k" + hashlib.sha256(b"meetstore-key-id" + master_key).hexdigest()[:15]


class LocalKeyProvider:
    """Master keys held in memory: the current one wraps, any known one unwraps."""

    def __init__(self, current: bytes, older: list[bytes] | None = None) -> None:
        if len(current) != 32:
            raise ValueError("a master key is 32 bytes")
        self._current = key_id_for(current)
        self._keys = {key_id_for(k): k for k in [*(older or []), current]}

    def current_key_id(self) -> str:
        return self._current

    def known_key_ids(self) -> set[str]:
        return set(self._keys)

    def wrap(self, dek: bytes, aad: bytes) -> tuple[str, bytes]:
        nonce = os.urandom(12)
        ct = AESGCM(self._keys[self._current]).encrypt(nonce, dek, aad)
        return self._current, nonce + ct

    def unwrap(self, key_id: str, wrapped: bytes, aad: bytes) -> bytes:
        key = self._keys.get(key_id)
        if key is None:
            raise DecryptionError(f"master key {key_id} is not available")
        if len(wrapped) < 12 + 16:  # nonce + GCM tag
            raise DecryptionError("malformed wrapped data key")
        try:
            return AESGCM(key).decrypt(wrapped[:12], wrapped[12:], aad)
        except InvalidTag as exc:
            raise DecryptionError("data key does not open under its master key") from exc


class EnvelopeBox:
    """The `SecretBox` port: seal and open secrets bound to (account, purpose)."""

    def __init__(self, provider: KeyProvider) -> None:
        self._provider = provider

    @staticmethod
    def _aad(account_id: str, purpose: str) -> bytes:
        return f"meetstore|{purpose}|{account_id}".encode()

    def seal(self, plaintext: str, *, account_id: str, purpose: str) -> bytes:
        aad = self._aad(account_id, purpose)
        dek = AESGCM.generate_key(bit_length=256)
        key_id, wrapped = self._provider.wrap(dek, aad)
        nonce = os.urandom(12)
        ct = AESGCM(dek).encrypt(nonce, plaintext.encode("utf-8"), aad)
        kid = key_id.encode("ascii")
        return (
            _MAGIC
            + struct.pack(">B", len(kid))
            + kid
            + struct.pack(">H", len(wrapped))
            + wrapped
            + nonce
            + ct
        )

    def open(self, blob: bytes, *, account_id: str, purpose: str) -> str:
        key_id, wrapped, nonce, ct = _split(blob)
        aad = self._aad(account_id, purpose)
        dek = self._provider.unwrap(key_id, wrapped, aad)
        try:
            return AESGCM(dek).decrypt(nonce, ct, aad).decode("utf-8")
        except (InvalidTag, ValueError) as exc:  # ValueError: a data key of the wrong size
            raise DecryptionError("secret does not open for this account") from exc

    def rewrap(self, blob: bytes, *, account_id: str, purpose: str) -> bytes:
        """The same sealed secret with its data key wrapped under the current master key."""
        key_id, wrapped, nonce, ct = _split(blob)
        aad = self._aad(account_id, purpose)
        dek = self._provider.unwrap(key_id, wrapped, aad)
        new_id, new_wrapped = self._provider.wrap(dek, aad)
        kid = new_id.encode("ascii")
        return (
            _MAGIC
            + struct.pack(">B", len(kid))
            + kid
            + struct.pack(">H", len(new_wrapped))
            + new_wrapped
            + nonce
            + ct
        )

    def current_key_id(self) -> str:
        return self._provider.current_key_id()

    @staticmethod
    def key_id_of(blob: bytes) -> str:
        return _split(blob)[0]


def _split(blob: bytes) -> tuple[str, bytes, bytes, bytes]:
    if not blob.startswith(_MAGIC):
        raise DecryptionError("not a meetstore envelope")
    pos = len(_MAGIC)
    try:
        (klen,) = struct.unpack_from(">B", blob, pos)
        pos += 1
        key_id = blob[pos : pos + klen].decode("ascii")
        pos += klen
        (wlen,) = struct.unpack_from(">H", blob, pos)
        pos += 2
    except (struct.error, UnicodeDecodeError):
        raise DecryptionError("malformed meetstore envelope") from None
    wrapped = blob[pos : pos + wlen]
    pos += wlen
    nonce, ct = blob[pos : pos + 12], blob[pos + 12 :]
    # A truncated blob: every part must be whole (the GCM tag alone is 16 bytes).
    if len(key_id) != klen or len(wrapped) != wlen or len(nonce) != 12 or len(ct) < 16:
        raise DecryptionError("malformed meetstore envelope")
    return key_id, wrapped, nonce, ct


# --- the keyring file -------------------------------------------------------------------------

KEYRING_FILE = "master.key"


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def decode_master_key(text: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except ValueError as exc:
        raise ValueError("a master key is the base64 of 32 random bytes") from exc
    if len(raw) != 32:
        raise ValueError("a master key is the base64 of 32 random bytes")
    return raw


def load_keyring(data_dir: Path, *, create: bool = True) -> tuple[bytes, list[bytes]]:
    """(current, older) master keys from `<data_dir>/master.key`, generating it (0600) if absent."""
    path = data_dir / KEYRING_FILE
    if not create and not path.exists():
        raise FileNotFoundError(str(path))
    text = read_or_create(path, lambda: json.dumps({"current": _b64(os.urandom(32)), "older": []}))
    try:
        doc = json.loads(text)
        return decode_master_key(doc["current"]), [decode_master_key(k) for k in doc.get("older", [])]
    except (ValueError, KeyError, TypeError):
        raise SecretFileError(f"{path} is not a meetstore keyring.") from None


def add_new_current_key(data_dir: Path) -> bytes:
    """Generate a new current master key in the keyring file; the old ones stay for unwrapping."""
    current, older = load_keyring(data_dir)
    new = os.urandom(32)
    replace_private(
        data_dir / KEYRING_FILE,
        json.dumps({"current": _b64(new), "older": [_b64(k) for k in [*older, current]]}),
    )
    return new


def drop_older_keys(data_dir: Path) -> None:
    current, _ = load_keyring(data_dir)
    replace_private(data_dir / KEYRING_FILE, json.dumps({"current": _b64(current), "older": []}))
