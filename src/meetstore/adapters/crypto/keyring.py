"""Master keys from the keyring file, reloaded when a blob names a key this process does not know.

That reload is what lets `meetstore keys rotate` run while API and worker processes keep serving:
blobs re-wrapped under the new key are opened after one reload of the file.
"""

from __future__ import annotations

import threading
from pathlib import Path

from meetstore.adapters.crypto.envelope import KEYRING_FILE, LocalKeyProvider, load_keyring


class FileKeyProvider:
    def __init__(self, data_dir: Path) -> None:
        self._data_dir = data_dir
        self._lock = threading.Lock()
        self._mtime = 0.0
        self._inner = self._load()

    def _load(self) -> LocalKeyProvider:
        current, older = load_keyring(self._data_dir)
        self._mtime = self._stat()
        return LocalKeyProvider(current, older)

    def _stat(self) -> float:
        try:
            return (self._data_dir / KEYRING_FILE).stat().st_mtime
        except OSError:
            return 0.0

    def reload(self) -> None:
        with self._lock:
            self._inner = self._load()

    def current_key_id(self) -> str:
        return self._inner.current_key_id()

    def known_key_ids(self) -> set[str]:
        return self._inner.known_key_ids()

    def wrap(self, dek: bytes, aad: bytes) -> tuple[str, bytes]:
        if self._stat() != self._mtime:  # a rotation wrote a new current key: wrap under it
            self.reload()
        return self._inner.wrap(dek, aad)

    def unwrap(self, key_id: str, wrapped: bytes, aad: bytes) -> bytes:
        if key_id not in self._inner.known_key_ids():
            self.reload()
        return self._inner.unwrap(key_id, wrapped, aad)
