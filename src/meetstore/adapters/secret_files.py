"""Secret files in the data dir (master.key, url-signing.key, runtime.token): created once,
atomically, private to meetstore's user, and always read back from disk.

Several processes may start at once on a fresh data dir. Each writes its candidate to a private
temporary file and links it into place: `link` fails when the name exists, so exactly one
candidate wins, and the file appears complete (never empty or half-written). Every process then
uses what is on disk, its own candidate or not.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path


class SecretFileError(RuntimeError):
    """A secret file that cannot be used (empty, unreadable); the message names the file only."""


def write_private(path: Path, text: str) -> None:
    """Write `text` to a new private (0600) temporary file next to `path`, fsynced."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


def _temp_next_to(path: Path) -> Path:
    return path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")


def replace_private(path: Path, text: str) -> None:
    """Replace `path` with `text` at once (readers see the old or the new file, whole)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temp_next_to(path)
    write_private(tmp, text)
    os.replace(tmp, path)


def read_or_create(path: Path, make: Callable[[], str]) -> str:
    """The file's content; if there is no file, `make()`'s, published atomically first."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = _temp_next_to(path)
        write_private(tmp, make())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process published its candidate first: that one is the secret
        finally:
            tmp.unlink()
    try:
        text = path.read_text()
    except OSError as exc:
        raise SecretFileError(f"{path} cannot be read ({type(exc).__name__}).") from None
    if not text.strip():
        raise SecretFileError(f"{path} is empty: restore it from a backup, or delete it to start afresh.")
    return text
