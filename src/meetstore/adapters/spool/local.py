"""The `Spool` port over a local folder: the one owner of the spool's layout.

Per bot (`{root}/{bot_id}/`):
- `{name}`: a complete recorded file (names of `domain.artifacts.parse_spool_name`, plus
  `participants.json` and `speaker_timeline.json`), and `manifest.json` written at "left";
- `.incoming/{random}.part`: a file being received; renamed to `{name}` only once complete and
  fsynced, so a partial upload is never taken for a file;
- `.meta/{name}.json`: size and SHA-256 computed while the file streamed in (with the file's
  inode and mtime, so a stale record is recognised and the hash recomputed).

Every file is sealed under its bot's data key as it streams in (`crypto.stream`: chunked
AES-GCM), so no recording waits for upload in plaintext; sizes and SHA-256 are of the plaintext.
Every file is streamed through a fixed-size buffer; nothing holds a whole file in memory. A full
disk (or a file-size limit) is `InsufficientStorage`, never a half-written file.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path

from meetstore.adapters.crypto.stream import (
    ChunkEncryptor,
    DecryptingReader,
    decrypt_bytes,
    encrypt_bytes,
    plaintext_size,
)
from meetstore.domain.ports import SpoolFile
from meetstore.domain.ports import SpoolWriter as SpoolFileWriter
from meetstore.errors import InsufficientStorage, SpoolFileDamaged

CHUNK_BYTES = 1024 * 1024
INCOMING_DIR = ".incoming"
META_DIR = ".meta"


def _disk_error(exc: OSError) -> Exception:
    # EFBIG: a file-size limit (quota, RLIMIT_FSIZE) stops the write just as a full disk does.
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return InsufficientStorage("The spool is out of disk space; try again later.")
    return exc


def write_all(fd: int, data: bytes | bytearray | memoryview) -> int:
    """Write every byte of `data` to `fd`; a full disk becomes InsufficientStorage."""
    view = memoryview(data)
    written = 0
    try:
        while written < len(view):
            written += os.write(fd, view[written:])
    except OSError as exc:
        raise _disk_error(exc) from exc
    return written


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def open_sealed(path: Path, key: bytes, name: str) -> DecryptingReader:
    """A sealed spool file's plaintext, read with pread (FileNotFoundError when it is gone)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        return DecryptingReader(key, name, lambda off, n: os.pread(fd, n, off), os.fstat(fd).st_size, lambda: os.close(fd))
    except BaseException:
        os.close(fd)
        raise


def _sha256_of(path: Path, key: bytes, name: str) -> tuple[int, str]:
    h = hashlib.sha256()
    size = 0
    with open_sealed(path, key, name) as fh:
        while chunk := fh.read(CHUNK_BYTES):
            h.update(chunk)
            size += len(chunk)
    return size, h.hexdigest()


def _write_small(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        write_all(fd, data)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(tmp, path)


def _write_meta(meta: Path, size: int, sha256: str, stat: os.stat_result) -> None:
    meta.parent.mkdir(parents=True, exist_ok=True)
    record = {"size": size, "sha256": sha256, "ino": stat.st_ino, "mtime_ns": stat.st_mtime_ns}
    _write_small(meta, json.dumps(record).encode())


class SpoolWriter:
    """One file being received: a temp file of ciphertext, the plaintext hashed as it is
    written; complete only at `finish`."""

    def __init__(self, bot_id: str, name: str, bot_dir: Path, key: bytes) -> None:
        self.bot_id = bot_id
        self.name = name
        self.bot_dir = bot_dir
        incoming = bot_dir / INCOMING_DIR
        try:
            incoming.mkdir(parents=True, exist_ok=True)
            self.tmp = incoming / f"{secrets.token_hex(12)}.part"
            self._fd: int | None = os.open(self.tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:
            raise _disk_error(exc) from exc
        self._hash = hashlib.sha256()
        self._sealer = ChunkEncryptor(key, name)
        self.size = 0
        self.sha256 = ""
        self.stat: os.stat_result | None = None
        try:
            write_all(self._fd, self._sealer.header)
        except BaseException:
            self.abort()
            raise

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._fd is None:
            raise RuntimeError("writer is closed")
        self._hash.update(data)
        self.size += len(data)
        write_all(self._fd, self._sealer.update(data))

    def finish(self) -> None:
        """Flush the file to disk (fsync) and close it; the data is then durable."""
        if self._fd is None:
            raise RuntimeError("writer is closed")
        fd, self._fd = self._fd, None
        try:
            write_all(fd, self._sealer.finalize())
            os.fsync(fd)
            self.stat = os.fstat(fd)
        except BaseException as exc:
            os.close(fd)
            raise _disk_error(exc) if isinstance(exc, OSError) else exc from None
        os.close(fd)
        self.sha256 = self._hash.hexdigest()

    def abort(self) -> None:
        """Drop the partial file."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)
        self.tmp.unlink(missing_ok=True)


class LocalSpool:
    def __init__(self, root: Path) -> None:
        self._root = root

    def _bot_dir(self, bot_id: str) -> Path:
        return self._root / bot_id

    def begin(self, bot_id: str, name: str, key: bytes) -> SpoolWriter:
        return SpoolWriter(bot_id, name, self._bot_dir(bot_id), key)

    def commit(self, writer: SpoolFileWriter) -> bool:
        """Record a finished file's hash and rename it into place; whether it replaced one."""
        if not isinstance(writer, SpoolWriter) or writer.stat is None:
            raise TypeError("not a finished writer of this spool")
        final = writer.bot_dir / writer.name
        meta = writer.bot_dir / META_DIR / f"{writer.name}.json"
        replaced = final.exists()
        try:
            final.parent.mkdir(parents=True, exist_ok=True)
            _write_meta(meta, writer.size, writer.sha256, writer.stat)
            os.replace(writer.tmp, final)
            _fsync_dir(final.parent)
        except OSError as exc:
            raise _disk_error(exc) from exc
        return replaced

    def files(self, bot_id: str, accept: Callable[[str], bool], key: bytes) -> dict[str, SpoolFile]:
        """Every complete file (not the temp files, not the hash records) whose name `accept`s."""
        root = self._bot_dir(bot_id)
        out: dict[str, SpoolFile] = {}
        if not root.is_dir():
            return out
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for filename in filenames:
                path = Path(dirpath) / filename
                name = path.relative_to(root).as_posix()
                if not accept(name):
                    continue
                size, sha = self._known_hash(root, name, path, key)
                out[name] = SpoolFile(name, size, sha)
        return out

    @staticmethod
    def _known_hash(root: Path, name: str, path: Path, key: bytes) -> tuple[int, str]:
        """Size and SHA-256 recorded while the file streamed in; recomputed when that record is stale."""
        st = path.stat()
        try:
            record = json.loads((root / META_DIR / f"{name}.json").read_text())
            if (
                record["size"] == st.st_size
                and record["ino"] == st.st_ino
                and record["mtime_ns"] == st.st_mtime_ns
            ):
                return int(record["size"]), str(record["sha256"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
        return _sha256_of(path, key, name)

    def write_small(self, bot_id: str, name: str, data: bytes, key: bytes) -> SpoolFile:
        root = self._bot_dir(bot_id)
        path = root / name
        sha = hashlib.sha256(data).hexdigest()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            _write_small(path, encrypt_bytes(key, name, data))
            _write_meta(root / META_DIR / f"{name}.json", len(data), sha, path.stat())
        except OSError as exc:
            raise _disk_error(exc) from exc
        return SpoolFile(name, len(data), sha)

    def read_small(self, bot_id: str, name: str, max_bytes: int, key: bytes) -> bytes | None:
        path = self._path(bot_id, name)
        try:
            if plaintext_size(path.stat().st_size) > max_bytes:
                return None
            return decrypt_bytes(key, name, path.read_bytes())
        except (OSError, SpoolFileDamaged):
            return None

    def open(self, bot_id: str, name: str, key: bytes) -> DecryptingReader:
        return open_sealed(self._path(bot_id, name), key, name)

    def _path(self, bot_id: str, name: str) -> Path:
        return self._bot_dir(bot_id) / name

    def exists(self, bot_id: str, name: str) -> bool:
        return self._path(bot_id, name).is_file()

    def delete(self, bot_id: str, name: str) -> None:
        self._path(bot_id, name).unlink(missing_ok=True)

    def names(self, bot_id: str) -> list[str]:
        folder = self._bot_dir(bot_id)
        if not folder.is_dir():
            return []
        return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())

    def remove_bot(self, bot_id: str) -> None:
        folder = self._bot_dir(bot_id)
        if folder.is_dir() and folder.resolve().parent == self._root.resolve():
            shutil.rmtree(folder, ignore_errors=True)
