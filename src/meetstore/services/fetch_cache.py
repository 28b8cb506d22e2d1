"""Where the finished files of platform-pinned bots are: (account, bot, kind) → object key.

Exact until the bot's media is erased: a bot's pin is written once, and an uploaded artifact row
changes state only when it is erased. An erasure (or a retention expiry) drops the account's
entries in the process that requests it at once and in every other process through the change
feed (`services/changes.py`, ERASURE), within `change_poll_s`. Only such rows are remembered, and only for the endpoints whose answer is
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

    def forget_account(self, account_id: str) -> None:
        """Drop every entry of the account (one of its bots was erased)."""
        with self._lock:
            for entry in [e for e in self._entries if e[0] == account_id]:
                del self._entries[entry]

    def __len__(self) -> int:
        return len(self._entries)
