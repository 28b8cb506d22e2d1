"""Envelope encryption of secrets: seal/open, binding to (account, purpose), tampering, rotation."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from meetstore.adapters.crypto.envelope import (
    KEYRING_FILE,
    DecryptionError,
    EnvelopeBox,
    LocalKeyProvider,
    add_new_current_key,
    decode_master_key,
    drop_older_keys,
    key_id_for,
    load_keyring,
)

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
ACCOUNT = "acc_6b1f0c2e"
PURPOSE = "storage.secret_key"


@pytest.fixture
def master() -> bytes:
    return os.urandom(32)


@pytest.fixture
def box(master: bytes) -> EnvelopeBox:
    return EnvelopeBox(LocalKeyProvider(master))


def test_round_trip(box: EnvelopeBox) -> None:
    blob = box.seal(SECRET, account_id=ACCOUNT, purpose=PURPOSE)
    assert box.open(blob, account_id=ACCOUNT, purpose=PURPOSE) == SECRET


@pytest.mark.parametrize("text", ["", "x", "ünïcødé 🔑", "a" * 10_000])
def test_round_trip_any_text(box: EnvelopeBox, text: str) -> None:
    blob = box.seal(text, account_id=ACCOUNT, purpose=PURPOSE)
    assert box.open(blob, account_id=ACCOUNT, purpose=PURPOSE) == text


def test_another_account_cannot_open(box: EnvelopeBox) -> None:
    blob = box.seal(SECRET, account_id=ACCOUNT, purpose=PURPOSE)
    with pytest.raises(DecryptionError) as info:
        box.open(blob, account_id="acc_other", purpose=PURPOSE)
    assert SECRET not in str(info.value)


def test_another_purpose_cannot_open(box: EnvelopeBox) -> None:
    blob = box.seal(SECRET, account_id=ACCOUNT, purpose=PURPOSE)
    with pytest.raises(DecryptionError):
        box.open(blob, account_id=ACCOUNT, purpose="webhook.secret")


def test_another_master_key_cannot_open(box: EnvelopeBox) -> None:
    blob = box.seal(SECRET, account_id=ACCOUNT, purpose=PURPOSE)
    with pytest.raises(DecryptionError):
        EnvelopeBox(LocalKeyProvider(os.urandom(32))).open(blob, account_id=ACCOUNT, purpose=PURPOSE)


def test_tampered_ciphertext_fails(box: EnvelopeBox) -> None:
    blob = box.seal(SECRET, account_id=ACCOUNT, purpose=PURPOSE)
    tampered = blob[:-1] + bytes([blob[-1] ^ 0x01])
    with pytest.raises(DecryptionError):
        box.open(tampered, account_id=ACCOUNT, purpose=PURPOSE)


def test_any_flipped_byte_fails_with_decryption_error(box: EnvelopeBox) -> None:
    """Every byte of the blob (header, key id, lengths, wrapped key, nonce, ciphertext) is covered."""
    blob = box.seal("s3cr3t", account_id=ACCOUNT, purpose=PURPOSE)
    for i in range(len(blob)):
        for mask in (0x01, 0x80, 0xFF):
            tampered = blob[:i] + bytes([blob[i] ^ mask]) + blob[i + 1 :]
            with pytest.raises(DecryptionError):
                box.open(tampered, account_id=ACCOUNT, purpose=PURPOSE)


def test_truncated_or_garbage_blobs_fail_with_decryption_error(box: EnvelopeBox) -> None:
    blob = box.seal("s3cr3t", account_id=ACCOUNT, purpose=PURPOSE)
    for n in range(len(blob)):
        with pytest.raises(DecryptionError):
            box.open(blob[:n], account_id=ACCOUNT, purpose=PURPOSE)
    for junk in (b"", b"MSE1", b"MSE1\xff", b"not an envelope", blob + b"x"):
        with pytest.raises(DecryptionError):
            box.open(junk, account_id=ACCOUNT, purpose=PURPOSE)


def test_ciphertext_does_not_contain_the_plaintext(box: EnvelopeBox) -> None:
    blob = box.seal(SECRET, account_id=ACCOUNT, purpose=PURPOSE)
    assert SECRET.encode() not in blob
    assert SECRET[:8].encode() not in blob
    assert ACCOUNT.encode() not in blob


def test_each_seal_uses_a_fresh_data_key(box: EnvelopeBox) -> None:
    a = box.seal(SECRET, account_id=ACCOUNT, purpose=PURPOSE)
    b = box.seal(SECRET, account_id=ACCOUNT, purpose=PURPOSE)
    assert a != b
    # Same key id header, different wrapped data key, nonce and ciphertext.
    assert EnvelopeBox.key_id_of(a) == EnvelopeBox.key_id_of(b)
    header = 4 + 1 + len(EnvelopeBox.key_id_of(a)) + 2
    wrapped_len = int.from_bytes(a[header - 2 : header], "big")
    assert a[header : header + wrapped_len] != b[header : header + wrapped_len]
    assert a[header + wrapped_len :] != b[header + wrapped_len :]


def test_rewrap_under_a_new_current_key(master: bytes, box: EnvelopeBox) -> None:
    blob = box.seal(SECRET, account_id=ACCOUNT, purpose=PURPOSE)
    assert EnvelopeBox.key_id_of(blob) == key_id_for(master)

    new = os.urandom(32)
    rotating = EnvelopeBox(LocalKeyProvider(new, older=[master]))
    # During the rotation, old blobs still open.
    assert rotating.open(blob, account_id=ACCOUNT, purpose=PURPOSE) == SECRET
    rewrapped = rotating.rewrap(blob, account_id=ACCOUNT, purpose=PURPOSE)

    assert EnvelopeBox.key_id_of(rewrapped) == key_id_for(new) != key_id_for(master)
    only_new = EnvelopeBox(LocalKeyProvider(new))
    assert only_new.open(rewrapped, account_id=ACCOUNT, purpose=PURPOSE) == SECRET
    with pytest.raises(DecryptionError):
        only_new.open(blob, account_id=ACCOUNT, purpose=PURPOSE)
    # The binding survives the rewrap.
    with pytest.raises(DecryptionError):
        only_new.open(rewrapped, account_id="acc_other", purpose=PURPOSE)


def test_rewrap_refuses_the_wrong_account(master: bytes, box: EnvelopeBox) -> None:
    blob = box.seal(SECRET, account_id=ACCOUNT, purpose=PURPOSE)
    rotating = EnvelopeBox(LocalKeyProvider(os.urandom(32), older=[master]))
    with pytest.raises(DecryptionError):
        rotating.rewrap(blob, account_id="acc_other", purpose=PURPOSE)


def test_master_key_must_be_32_bytes() -> None:
    with pytest.raises(ValueError):
        LocalKeyProvider(b"short")


def test_known_key_ids(master: bytes) -> None:
    new = os.urandom(32)
    provider = LocalKeyProvider(new, older=[master])
    assert provider.current_key_id() == key_id_for(new)
    assert provider.known_key_ids() == {key_id_for(new), key_id_for(master)}


# --- keyring file -------------------------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_load_keyring_creates_a_private_file(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    current, older = load_keyring(data_dir)
    path = data_dir / KEYRING_FILE
    assert path.exists()
    assert _mode(path) == 0o600
    assert len(current) == 32 and older == []
    # Loading again returns the same key; nothing else was left behind.
    assert load_keyring(data_dir) == (current, [])
    assert sorted(p.name for p in data_dir.iterdir()) == [KEYRING_FILE]


def test_load_keyring_without_create(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_keyring(tmp_path, create=False)
    assert not (tmp_path / KEYRING_FILE).exists()


def test_keyring_private_even_with_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0)
    try:
        load_keyring(tmp_path)
    finally:
        os.umask(old)
    assert _mode(tmp_path / KEYRING_FILE) == 0o600


def test_add_new_current_key_and_drop_older_keys(tmp_path: Path) -> None:
    first, _ = load_keyring(tmp_path)
    box = EnvelopeBox(LocalKeyProvider(first))
    blob = box.seal(SECRET, account_id=ACCOUNT, purpose=PURPOSE)

    second = add_new_current_key(tmp_path)
    assert second != first
    current, older = load_keyring(tmp_path)
    assert current == second and older == [first]
    assert _mode(tmp_path / KEYRING_FILE) == 0o600

    third = add_new_current_key(tmp_path)
    current, older = load_keyring(tmp_path)
    assert current == third and older == [first, second]

    rotating = EnvelopeBox(LocalKeyProvider(current, older))
    rewrapped = rotating.rewrap(blob, account_id=ACCOUNT, purpose=PURPOSE)

    drop_older_keys(tmp_path)
    current, older = load_keyring(tmp_path)
    assert current == third and older == []
    assert _mode(tmp_path / KEYRING_FILE) == 0o600
    after = EnvelopeBox(LocalKeyProvider(current, older))
    assert after.open(rewrapped, account_id=ACCOUNT, purpose=PURPOSE) == SECRET
    with pytest.raises(DecryptionError):
        after.open(blob, account_id=ACCOUNT, purpose=PURPOSE)


def test_keyring_file_holds_base64_keys(tmp_path: Path) -> None:
    current, _ = load_keyring(tmp_path)
    doc = json.loads((tmp_path / KEYRING_FILE).read_text())
    assert decode_master_key(doc["current"]) == current


@pytest.mark.parametrize("text", ["", "not base64!", "AAAA", "A" * 44 + "=="])
def test_decode_master_key_refuses_bad_keys(text: str) -> None:
    with pytest.raises(ValueError):
        decode_master_key(text)
