"""Streaming authenticated encryption of spooled recordings (AES-256-GCM over fixed-size chunks).

A recording waits for upload encrypted under its bot's data key, so neither a spool folder nor a
staging bucket (nor a backup of either) holds it in plaintext, and destroying the key shreds
every copy. One file is one `header | chunk_0 | ... | chunk_n`:

- header (16 bytes): b"MSS1" | a random 7-byte nonce prefix | chunk size (u32) | 1 zero byte;
- chunk i: AES-GCM of up to CHUNK plaintext bytes (+16-byte tag) under the nonce
  prefix | i (u32) | final flag (1 on the last chunk, else 0), with the header and the file's
  name as associated data.

The index in the nonce means chunks cannot be reordered; the final flag means a truncated file is
refused (its new last chunk was not sealed as final), as is a file with chunks appended. Every
chunk but the last is full, and the last holds 1..CHUNK bytes (0 only for an empty file), so the
plaintext size follows from the ciphertext size alone. This is the STREAM construction (Hoang,
Reyhanitabar, Rogaway, Vizár 2015) over `cryptography`'s AESGCM; nothing of it is home-made
cryptography beyond the nonce layout.
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from meetstore.errors import SpoolFileDamaged, SpoolKeyUnavailable

MAGIC = b"MSS1"
CHUNK = 64 * 1024
TAG = 16
HEADER_BYTES = 16
RUN_CHUNKS = 16
"""Chunks fetched by one `read_at` (1 MiB): a pread of a file, or a ranged GET of a staged
object (2 MiB runs were no faster through staging and held 4-6 MiB more in a worker)."""
PART_CHUNKS = 128
"""8 MiB (an upload part, the default chunk size): what a reader of a staged file keeps, so the
HTTP client's passes over one part (payload hash, checksum, send) fetch and open it once."""
_PREFIX_BYTES = 7


class StreamDecryptionError(SpoolFileDamaged):
    """A spooled file that does not open: wrong key, tampered, truncated or reordered."""


def _nonce(prefix: bytes, index: int, final: bool) -> bytes:
    return prefix + struct.pack(">IB", index, 1 if final else 0)


def ciphertext_size(plaintext_size: int, chunk: int = CHUNK) -> int:
    chunks = max(1, -(-plaintext_size // chunk))
    return HEADER_BYTES + plaintext_size + chunks * TAG


def plaintext_size(ciphertext_bytes: int, chunk: int = CHUNK) -> int:
    body = ciphertext_bytes - HEADER_BYTES
    if body < TAG:
        raise StreamDecryptionError("the file is shorter than one sealed chunk")
    chunks = -(-body // (chunk + TAG))
    size = body - chunks * TAG
    if size < 0 or ciphertext_size(size, chunk) != ciphertext_bytes:
        raise StreamDecryptionError("the file's size is not that of a sealed stream")
    return size


class ChunkEncryptor:
    """Encrypts a stream pushed in pieces; holds at most one chunk of plaintext."""

    def __init__(self, key: bytes, name: str, *, chunk: int = CHUNK) -> None:
        self._aead = AESGCM(key)
        self._chunk = chunk
        prefix = os.urandom(_PREFIX_BYTES)
        self._prefix = prefix
        self.header = MAGIC + prefix + struct.pack(">IB", chunk, 0)
        self._aad = self.header + name.encode("utf-8")
        self._buffer = bytearray()
        self._index = 0
        self._finished = False

    def _seal(self, data: bytes | bytearray | memoryview, final: bool) -> bytes:
        sealed = self._aead.encrypt(_nonce(self._prefix, self._index, final), bytes(data), self._aad)
        self._index += 1
        return sealed

    def update(self, data: bytes | bytearray | memoryview) -> bytes:
        """Ciphertext of every chunk completed by `data` (a full chunk is sealed only once more
        data follows it, because the last chunk must be sealed as final)."""
        out = bytearray()
        self.update_into(data, out)
        return bytes(out)

    def update_into(self, data: bytes | bytearray | memoryview, out: bytearray) -> None:
        """`update`, appending the ciphertext to `out` (a part being buffered for upload): the
        full chunks of `data` are sealed where they lie, so nothing of it is copied whole."""
        if self._finished:
            raise RuntimeError("the stream is finished")
        view, pos = memoryview(data), 0
        if self._buffer:
            pos = min(len(view), self._chunk - len(self._buffer))
            self._buffer += view[:pos]
            if pos == len(view):  # nothing follows the pending chunk yet
                return
            out += self._seal(self._buffer, False)
            self._buffer = bytearray()
        while len(view) - pos > self._chunk:
            out += self._seal(view[pos : pos + self._chunk], False)
            pos += self._chunk
        self._buffer += view[pos:]

    def finalize(self) -> bytes:
        """The last chunk, sealed as final."""
        if self._finished:
            raise RuntimeError("the stream is finished")
        self._finished = True
        last = self._seal(self._buffer, True)
        self._buffer = bytearray()
        return last


def encrypt_bytes(key: bytes, name: str, data: bytes) -> bytes:
    """A whole small file, sealed (the manifest)."""
    enc = ChunkEncryptor(key, name)
    return enc.header + enc.update(data) + enc.finalize()


ReadAt = Callable[[int, int], bytes]
"""(offset, length) → exactly those ciphertext bytes (a ranged GET, or a pread of a file)."""


class ReadPattern:
    """Shared by a reader and its clones: whether any of them read a part of the file again."""

    def __init__(self) -> None:
        self.rereads = False


class DecryptingReader(io.RawIOBase):
    """The plaintext of a sealed stream as a seekable binary file: reads fetch only the chunks
    they cover (one `read_at` per read), and every chunk is authenticated before a byte of it is
    returned. What s3transfer reads a part at a time and PyAV probes."""

    def __init__(
        self,
        key: bytes,
        name: str,
        read_at: ReadAt,
        ciphertext_bytes: int,
        on_close: Callable[[], None] | None = None,
        *,
        run_chunks: int = RUN_CHUNKS,
        keep_chunks: int = RUN_CHUNKS,
        opened: tuple[bytes, bytes | None] | None = None,
        pattern: ReadPattern | None = None,
    ) -> None:
        """`run_chunks`: chunks fetched by one `read_at`; `keep_chunks`: how much of what it read
        last the reader keeps once the file's readers are seen reading again what they read (a
        seek back). Small for a file (a pread is cheap); for a staged object a run is a ranged
        GET, and a part is kept. `opened`: the header and (for a file of one run) the whole
        ciphertext another reader already read; `pattern`: what the file's readers have seen."""
        super().__init__()
        self._read_at = read_at
        self._on_close = on_close
        if opened is None:
            # A file of one run (most artifacts: chat, transcripts, screenshots) is read whole,
            # header included, in one read_at: one ranged GET of a staged object, not two.
            whole = ciphertext_bytes <= HEADER_BYTES + run_chunks * (CHUNK + TAG)
            first = read_at(0, ciphertext_bytes if whole else HEADER_BYTES) if ciphertext_bytes >= HEADER_BYTES else b""
            opened = (first[:HEADER_BYTES], first if whole and len(first) == ciphertext_bytes else None)
        header, self._whole = opened
        self._header = header
        if len(header) != HEADER_BYTES or not header.startswith(MAGIC):
            raise StreamDecryptionError("not a sealed meetstore stream")
        self._prefix = header[4 : 4 + _PREFIX_BYTES]
        (self._chunk,) = struct.unpack_from(">I", header, 4 + _PREFIX_BYTES)
        if not 0 < self._chunk <= 64 * 1024 * 1024:
            raise StreamDecryptionError("not a sealed meetstore stream")
        self._aead = AESGCM(key)
        self._aad = header + name.encode("utf-8")
        self.size = plaintext_size(ciphertext_bytes, self._chunk)
        self._chunks = max(1, -(-self.size // self._chunk))
        self._pos = 0
        self._key, self._name, self._sealed = key, name, ciphertext_bytes
        self._run_chunks, self._keep = run_chunks, max(run_chunks, keep_chunks)
        self._pattern = pattern if pattern is not None else ReadPattern()
        self._furthest = 0  # chunks below this one were opened by this reader
        # The last run of chunks opened: small sequential reads (an HTTP client sending a part in
        # 8 KiB blocks, PyAV probing) cost one read_at per run, not one per chunk.
        self._run_first = -1
        self._run: list[bytes] = []

    def clone(self) -> DecryptingReader:
        """Another reader of the same file at position 0 (for another thread; `read_at` is safe to
        share: a pread, or a ranged GET through a thread-safe client). Closing it closes nothing
        of this one."""
        return DecryptingReader(
            self._key,
            self._name,
            self._read_at,
            self._sealed,
            run_chunks=self._run_chunks,
            keep_chunks=self._keep,
            opened=(self._header, self._whole),
            pattern=self._pattern,
        )

    def close(self) -> None:
        if not self.closed and self._on_close is not None:
            self._on_close()
        super().close()

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        if base + offset < 0:
            raise ValueError("negative seek position")
        self._pos = base + offset
        return self._pos

    def _open_chunks(self, first: int, last: int) -> list[bytes]:
        """Chunks first..last (inclusive; at most a run), authenticated."""
        if self._run_first <= first and last < self._run_first + len(self._run):
            return self._run[first - self._run_first : last - self._run_first + 1]
        wanted = last - first + 1
        if last == first:  # a small read: open the whole run it starts
            last = min(self._chunks - 1, first + self._run_chunks - 1)
        if first < self._furthest:
            self._pattern.rereads = True
        out = self._fetch(first, last)
        self._furthest = max(self._furthest, last + 1)
        if self._run and first == self._run_first + len(self._run):
            # Reading on: once a reader of the file went back over what it read, keep what came
            # before, up to a part's worth. botocore makes two passes over a part sent over plain
            # http (its checksum in a header, then the send); over https one (the checksum in a
            # trailer), and nothing kept is then memory held for nothing.
            self._run += out
            keep = self._keep if self._pattern.rereads else self._run_chunks
            drop = max(0, len(self._run) - keep)
            self._run_first, self._run = self._run_first + drop, self._run[drop:]
        else:
            self._run_first, self._run = first, out
        return out[:wanted]

    def _fetch(self, first: int, last: int) -> list[bytes]:
        step = self._chunk + TAG
        start = HEADER_BYTES + first * step
        end = min(HEADER_BYTES + (last + 1) * step, ciphertext_size(self.size, self._chunk))
        # Chunks are opened where they lie (memoryviews): no copy of a run beside the one read.
        raw = memoryview(self._whole)[start:end] if self._whole is not None else memoryview(self._read_at(start, end - start))
        if len(raw) != end - start:
            raise StreamDecryptionError("the sealed stream was cut short")
        out = []
        for i in range(first, last + 1):
            piece = raw[(i - first) * step : (i - first + 1) * step]
            try:
                plain = self._aead.decrypt(_nonce(self._prefix, i, i == self._chunks - 1), piece, self._aad)
            except InvalidTag:
                raise StreamDecryptionError("a chunk of the sealed stream does not open") from None
            out.append(plain)
        return out

    def read(self, size: int = -1) -> bytes:
        if self._pos >= self.size:
            return b""
        end = self.size if size is None or size < 0 else min(self.size, self._pos + size)
        if end <= self._pos:
            return b""
        first, last = self._pos // self._chunk, (end - 1) // self._chunk
        pieces: list[bytes] = []
        # A large read is fetched a run at a time, so at most one run of ciphertext is held
        # beside the plaintext being returned.
        for start in range(first, last + 1, self._run_chunks):
            pieces += self._open_chunks(start, min(last, start + self._run_chunks - 1))
        head = self._pos - first * self._chunk
        tail = (last + 1) * self._chunk - end if last < self._chunks - 1 else len(pieces[-1]) - (end - last * self._chunk)
        if head:
            pieces[0] = pieces[0][head:]
        if tail:
            pieces[-1] = pieces[-1][: len(pieces[-1]) - tail]
        self._pos = end
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self.read(len(buffer))
        memoryview(buffer)[: len(data)] = data
        return len(data)


def decrypt_bytes(key: bytes, name: str, blob: bytes) -> bytes:
    """A whole small sealed file, opened."""
    return DecryptingReader(key, name, lambda o, n: blob[o : o + n], len(blob)).read()


class AesKeyWrap:
    """The `KeyWrap` port: AES-256-GCM with a random nonce, the bot id as associated data."""

    def new_key(self) -> bytes:
        return AESGCM.generate_key(bit_length=256)

    @staticmethod
    def _aad(bot_id: str) -> bytes:
        return f"meetstore|spool-data-key|{bot_id}".encode()

    def wrap(self, key: bytes, *, under: bytes, bot_id: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + AESGCM(under).encrypt(nonce, key, self._aad(bot_id))

    def unwrap(self, wrapped: bytes, *, under: bytes, bot_id: str) -> bytes:
        try:
            return AESGCM(under).decrypt(wrapped[:12], wrapped[12:], self._aad(bot_id))
        except (InvalidTag, ValueError):
            raise SpoolKeyUnavailable("the bot's spool key does not open under its account's key") from None
