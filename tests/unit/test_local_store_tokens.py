"""The local platform store: signed download tokens, key → path safety, checksummed writes."""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import stat
import time
from pathlib import Path

import pytest

from meetstore.adapters.crypto.stream import DecryptingReader, encrypt_bytes
from meetstore.adapters.platform_store.local import LocalPlatformStore, TokenError, load_signing_key
from meetstore.adapters.spool.local import open_sealed

SPOOL_KEY = os.urandom(32)
KEY = "accounts/acc_1/meetstream/3f2b8c1e-9a47-4d6b-b1f0-5c2e7a9d4e10_audio.mp3"


@pytest.fixture
def store(tmp_path: Path) -> LocalPlatformStore:
    return LocalPlatformStore(tmp_path / "store", os.urandom(32), lambda: "http://127.0.0.1:8000/")


def _sha256_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


# --- tokens -------------------------------------------------------------------------------------


def test_sign_verify_round_trip(store: LocalPlatformStore) -> None:
    before = time.time()
    token = store.sign(KEY, 600)
    signed = store.verify(token)
    assert signed.key == KEY
    # Never shorter than promised (rounded up to the second), and less than a second longer.
    assert before + 600 <= signed.expires_at < time.time() + 601


def test_round_trip_with_unicode_key(store: LocalPlatformStore) -> None:
    key = "accounts/acc_1/récordings/日本/x.json"
    assert store.verify(store.sign(key, 60)).key == key


def test_token_is_url_safe(store: LocalPlatformStore) -> None:
    token = store.sign(KEY + "?&=/+", 600)
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")


def test_expired_token_is_refused(store: LocalPlatformStore) -> None:
    token = store.sign(KEY, 60, now=time.time() - 3600)
    with pytest.raises(TokenError, match="expired"):
        store.verify(token)


def test_expiry_boundary(store: LocalPlatformStore) -> None:
    now = 1_700_000_000.0
    token = store.sign(KEY, 60, now=now)
    assert store.verify(token, now=now + 60).expires_at == 1_700_000_060
    with pytest.raises(TokenError):
        store.verify(token, now=now + 61)


def test_explicit_now_zero_is_honoured(store: LocalPlatformStore) -> None:
    # `now=0` is a time, not "use the clock".
    token = store.sign(KEY, 10, now=0)
    assert store.verify(token, now=5).expires_at == 10
    with pytest.raises(TokenError):
        store.verify(token)


def test_token_from_another_signing_key_is_refused(store: LocalPlatformStore, tmp_path: Path) -> None:
    other = LocalPlatformStore(tmp_path / "other", os.urandom(32), lambda: "http://x")
    with pytest.raises(TokenError):
        store.verify(other.sign(KEY, 600))


def test_one_changed_character_anywhere_is_refused(store: LocalPlatformStore) -> None:
    token = store.sign(KEY, 600)
    replacements = ["A", "a", "0", "-", "_", ".", "=", "%", " ", "\x00", "é", "\ud800"]
    for i, original in enumerate(token):
        for rep in replacements:
            if rep == original:
                continue
            tampered = token[:i] + rep + token[i + 1 :]
            with pytest.raises(TokenError):
                store.verify(tampered)


def test_one_flipped_bit_anywhere_is_refused(store: LocalPlatformStore) -> None:
    raw = store.sign(KEY, 600).encode("ascii")
    for i in range(len(raw)):
        for bit in range(8):
            tampered = raw[:i] + bytes([raw[i] ^ (1 << bit)]) + raw[i + 1 :]
            with pytest.raises(TokenError):
                store.verify(tampered.decode("latin-1"))


@pytest.mark.parametrize("junk", ["", ".", "abc", "abc.", ".abc", "a.b.c", "\u00e9.\u00e9"])
def test_malformed_tokens_are_refused(store: LocalPlatformStore, junk: str) -> None:
    with pytest.raises(TokenError):
        store.verify(junk)


def test_truncated_or_extended_tokens_are_refused(store: LocalPlatformStore) -> None:
    token = store.sign(KEY, 600)
    for n in range(len(token)):
        with pytest.raises(TokenError):
            store.verify(token[:n])
    for extra in ("A", "=", ".", "==", ".x"):
        with pytest.raises(TokenError):
            store.verify(token + extra)


def test_presign_get_points_at_files_route(store: LocalPlatformStore) -> None:
    url = store.presign_get(KEY, 600)
    assert url.startswith("http://127.0.0.1:8000/files/")
    assert store.verify(url.rsplit("/", 1)[1]).key == KEY


def test_signing_key_file_is_private_and_stable(tmp_path: Path) -> None:
    key = load_signing_key(tmp_path / "d")
    path = tmp_path / "d" / "url-signing.key"
    assert len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_signing_key(tmp_path / "d") == key


# --- key → path ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    [
        "",
        "/etc/passwd",
        "../outside",
        "../../etc/passwd",
        "a/../../outside",
        "a/..",
        "..",
        ".",
        "a/./b",
        "a//b",
        "a/",
        "a\\..\\..\\outside",
        "a/b\x00c",
    ],
)
def test_unsafe_keys_are_refused(store: LocalPlatformStore, key: str) -> None:
    with pytest.raises(ValueError):
        store.path_of(key)


def test_symlink_out_of_the_root_is_refused(store: LocalPlatformStore, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("no")
    (store.root / "link").symlink_to(outside)
    with pytest.raises(ValueError):
        store.path_of("link/secret.txt")
    with pytest.raises(ValueError):
        store.read_bytes("link/secret.txt", 100)


def test_safe_keys_map_under_the_root(store: LocalPlatformStore) -> None:
    path = store.path_of(KEY)
    assert store.root in path.parents
    assert path == store.root / KEY
    assert store.path_of("a..b/..c/c..") == store.root / "a..b/..c/c.."


# --- checksummed writes -------------------------------------------------------------------------
def _sealed(tmp_path: Path, data: bytes) -> DecryptingReader:
    """A spooled file, as the worker streams it: sealed on disk, read as plaintext."""
    path = tmp_path / f"sealed-{secrets.token_hex(4)}"
    path.write_bytes(encrypt_bytes(SPOOL_KEY, "audio.mp3", data))
    return open_sealed(path, SPOOL_KEY, "audio.mp3")



def test_upload_stream_stores_the_bytes(store: LocalPlatformStore, tmp_path: Path) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    src = _sealed(tmp_path, data)
    store.upload_stream(src, KEY, content_type="audio/mpeg", sha256_b64=_sha256_b64(data))
    assert store.read_bytes(KEY, len(data)) == data
    with pytest.raises(ValueError):
        store.read_bytes(KEY, len(data) - 1)


def test_upload_stream_with_checksum_mismatch_is_refused(store: LocalPlatformStore, tmp_path: Path) -> None:
    src = _sealed(tmp_path, b"the real bytes")
    with pytest.raises(OSError, match="checksum mismatch"):
        store.upload_stream(src, KEY, content_type="audio/mpeg", sha256_b64=_sha256_b64(b"other bytes"))
    dest = store.path_of(KEY)
    assert not dest.exists()
    assert list(dest.parent.iterdir()) == []  # no partial file left behind


def test_checksum_mismatch_keeps_the_previous_object(store: LocalPlatformStore, tmp_path: Path) -> None:
    store.put_bytes(KEY, b"first version", content_type="audio/mpeg")
    src = _sealed(tmp_path, b"second version")
    with pytest.raises(OSError):
        store.upload_stream(src, KEY, content_type="audio/mpeg", sha256_b64=_sha256_b64(b"tampered"))
    assert store.read_bytes(KEY, 100) == b"first version"
    assert sorted(p.name for p in store.path_of(KEY).parent.iterdir()) == [store.path_of(KEY).name]


def test_upload_stream_refuses_unsafe_keys(store: LocalPlatformStore, tmp_path: Path) -> None:
    src = _sealed(tmp_path, b"x")
    with pytest.raises(ValueError):
        store.upload_stream(src, "../escape", content_type="text/plain", sha256_b64=_sha256_b64(b"x"))
    assert not (store.root.parent / "escape").exists()
