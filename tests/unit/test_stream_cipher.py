"""The spool's streaming AEAD: round trips, random access, and every tampering refused."""

from __future__ import annotations

import io
import os

import pytest

from meetstore.adapters.crypto.stream import (
    CHUNK,
    HEADER_BYTES,
    TAG,
    ChunkEncryptor,
    DecryptingReader,
    StreamDecryptionError,
    ciphertext_size,
    decrypt_bytes,
    encrypt_bytes,
)

KEY = bytes(range(32))


def _seal_in_pieces(data: bytes, piece: int, chunk: int = CHUNK) -> bytes:
    enc = ChunkEncryptor(KEY, "audio.mp3", chunk=chunk)
    out = bytearray(enc.header)
    for i in range(0, len(data), piece):
        out += enc.update(data[i : i + piece])
    out += enc.finalize()
    return bytes(out)


def _reader(blob: bytes, name: str = "audio.mp3", key: bytes = KEY) -> DecryptingReader:
    return DecryptingReader(key, name, lambda o, n: blob[o : o + n], len(blob))


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK, 3 * CHUNK + 17])
@pytest.mark.parametrize("piece", [1000, CHUNK, 5 * CHUNK])
def test_a_stream_round_trips_whatever_the_sizes(size: int, piece: int) -> None:
    data = os.urandom(size)
    blob = _seal_in_pieces(data, piece)
    assert len(blob) == ciphertext_size(size)
    reader = _reader(blob)
    assert reader.size == size
    assert reader.read() == data


def test_reads_anywhere_return_the_plaintext_there() -> None:
    data = os.urandom(5 * CHUNK + 123)
    reader = _reader(_seal_in_pieces(data, 7777))
    for start, length in [(0, 10), (CHUNK - 5, 10), (2 * CHUNK, CHUNK), (5 * CHUNK + 100, 1000), (17, 4 * CHUNK)]:
        reader.seek(start)
        assert reader.read(length) == data[start : start + length]
    reader.seek(-3, io.SEEK_END)
    assert reader.read() == data[-3:]
    assert reader.read(5) == b""


def test_the_ciphertext_holds_no_plaintext() -> None:
    data = b"the quarterly numbers are " * 10_000
    blob = encrypt_bytes(KEY, "transcript/raw.json", data)
    assert b"quarterly" not in blob
    assert decrypt_bytes(KEY, "transcript/raw.json", blob) == data


def test_a_truncated_stream_is_refused() -> None:
    blob = _seal_in_pieces(os.urandom(3 * CHUNK + 10), CHUNK)
    whole_chunks = blob[: HEADER_BYTES + 2 * (CHUNK + TAG)]  # cut at a chunk boundary
    with pytest.raises(StreamDecryptionError):
        _reader(whole_chunks).read()
    with pytest.raises(StreamDecryptionError):
        _reader(blob[:-5]).read()


def test_reordered_or_flipped_chunks_are_refused() -> None:
    blob = bytearray(_seal_in_pieces(os.urandom(3 * CHUNK + 10), CHUNK))
    step = CHUNK + TAG
    first, second = blob[HEADER_BYTES : HEADER_BYTES + step], blob[HEADER_BYTES + step : HEADER_BYTES + 2 * step]
    swapped = bytes(blob[:HEADER_BYTES]) + bytes(second) + bytes(first) + bytes(blob[HEADER_BYTES + 2 * step :])
    with pytest.raises(StreamDecryptionError):
        _reader(swapped).read(10)
    blob[HEADER_BYTES + 5] ^= 1
    with pytest.raises(StreamDecryptionError):
        _reader(bytes(blob)).read(10)


def test_another_key_or_another_name_does_not_open_it() -> None:
    blob = encrypt_bytes(KEY, "audio.mp3", b"hello")
    with pytest.raises(StreamDecryptionError):
        decrypt_bytes(os.urandom(32), "audio.mp3", blob)
    with pytest.raises(StreamDecryptionError):
        decrypt_bytes(KEY, "video.mp4", blob)
    with pytest.raises(StreamDecryptionError):
        decrypt_bytes(KEY, "audio.mp3", b"plain bytes, not a sealed stream")


class _Counted:
    """A read_at that counts its calls (each is a ranged GET of a staged object)."""

    def __init__(self, blob: bytes) -> None:
        self.blob, self.calls = blob, 0

    def __call__(self, offset: int, length: int) -> bytes:
        self.calls += 1
        return self.blob[offset : offset + length]


def test_a_file_of_one_run_is_read_once_by_a_reader_and_its_clones() -> None:
    data = os.urandom(3 * CHUNK + 5)
    source = _Counted(_seal_in_pieces(data, CHUNK))
    reader = DecryptingReader(KEY, "audio.mp3", source, len(source.blob), run_chunks=4)
    clone = reader.clone()
    assert clone.read() == data
    assert reader.read(10) == data[:10]
    assert source.calls == 1


def test_a_larger_file_reads_its_header_then_a_run_at_a_time() -> None:
    data = os.urandom(9 * CHUNK)
    source = _Counted(_seal_in_pieces(data, CHUNK))
    reader = DecryptingReader(KEY, "audio.mp3", source, len(source.blob), run_chunks=4)
    assert reader.read() == data
    assert source.calls == 1 + 3
    assert reader.clone().read(CHUNK) == data[:CHUNK]
    assert source.calls == 1 + 3 + 1  # the clone reads no header again


def test_a_whole_file_cut_short_is_still_refused() -> None:
    blob = _seal_in_pieces(os.urandom(CHUNK + 9), CHUNK)
    stated = len(blob)
    cut = blob[: stated - 4]
    with pytest.raises(StreamDecryptionError):
        DecryptingReader(KEY, "audio.mp3", lambda o, n: cut[o : o + n], stated).read()


def test_a_part_is_kept_only_once_the_files_readers_read_again() -> None:
    data = os.urandom(12 * CHUNK)
    source = _Counted(_seal_in_pieces(data, CHUNK))
    reader = DecryptingReader(KEY, "audio.mp3", source, len(source.blob), run_chunks=2, keep_chunks=8)
    calls = source.calls
    assert reader.read(8 * CHUNK) == data[: 8 * CHUNK]  # one pass (a part sent over https)
    reader.seek(0)
    assert reader.read(8 * CHUNK) == data[: 8 * CHUNK]  # nothing was kept: fetched again
    assert source.calls - calls == 8
    clone, calls = reader.clone(), source.calls
    for _ in range(2):  # two passes (a checksum, then the send, over http): the part is kept
        clone.seek(0)
        assert clone.read(8 * CHUNK) == data[: 8 * CHUNK]
    assert source.calls - calls == 4
