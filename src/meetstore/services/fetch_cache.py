"""Where the finished files of platform-pinned bots are: (account, bot, kind) → object key.

Exact for as long as the process lives, so it never needs invalidating: a bot's pin is written
once, an uploaded artifact row never changes state again (UploadState.UPLOADED is terminal), and
rows are never deleted. Only such rows are remembered, and only for the endpoints whose answer is
nothing but a URL for that key (audio, chat log, manifest); a custom bucket's files always go
through the database, since the configuration they are served with may change. Bounded
(`fetch_cache_entries`; 0 turns it off): the oldest entries go first.
"""

from __future__ import annotations

import threading

from meetstore.domain.artifacts import ArtifactKind, UploadState
from meetstore.domain.pin import PinKind, PinnedLocation
from meetstore.domain.records import ArtifactRecord


class FinalLocations:
    def __init__(self, max_entries: int) -> None:
        self._max = max(0, max_entries)
        self._entries: dict[tuple[str, str, ArtifactKind], str] = {}
        self._lock = threading.Lock()

    def get(self, account_id: str, bot_id: str, kind: ArtifactKind) -> str | None:
        return self._entries.get((account_id, bot_id, kind))

    def remember(
        self,
        account_id: str,
        bot_id: str,
        pin: PinnedLocation | None,
        kind: ArtifactKind,
        row: ArtifactRecord | None,
    ) -> None:
        if self._max == 0 or row is None or pin is None or pin.kind is not PinKind.PLATFORM:
            return
        if row.state != UploadState.UPLOADED.value:
            return
        with self._lock:
            while len(self._entries) >= self._max:
                del self._entries[next(iter(self._entries))]
            self._entries[(account_id, bot_id, kind)] = row.key

    def __len__(self) -> int:
        return len(self._entries)
