"""What a fetch of a finished file needs, remembered per process so the steady state reads no
database: (account, bot, kind) → the uploaded object's key, the bot's pin and its pinned expiry;
and per account, the storage configuration in force (with its credentials, sealed).

Exact until something the answer depends on changes, and each such change drops the account's
entries: an erasure (or a retention expiry's erasure) and a replaced or deleted configuration,
at once in the process that makes it and in every other through the change feed
(`services/changes.py`: ERASURE, STORAGE) within `change_poll_s`. A bot's pin is written once and
an uploaded artifact row changes only when it is erased; its pinned expiry is kept with it and
compared with the clock at every answer, so an expiry is never served past, sweep or no sweep.

Every account has a generation, bumped by each drop; an entry read from the database before a
drop is remembered only if no drop happened since the read began, so a slow read can never put
back what a change removed. Only uploaded rows are remembered, only for the endpoints whose
answer is nothing but a URL for that key (audio, chat log, manifest). Bounded
(`fetch_cache_entries`; 0 turns it off): the oldest entries go first.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

from meetstore.domain.artifacts import ArtifactKind, UploadState
from meetstore.domain.pin import PinKind, PinnedLocation
from meetstore.domain.records import ArtifactRecord
from meetstore.domain.storage_target import ActiveStorage


@dataclass(frozen=True, slots=True)
class Final:
    key: str
    pin: PinnedLocation
    expires_at: datetime | None


class FinalLocations:
    def __init__(self, max_entries: int) -> None:
        self._max = max(0, max_entries)
        self._entries: dict[tuple[str, str, ArtifactKind], Final] = {}
        self._configs: dict[str, ActiveStorage | None] = {}
        self._generations: dict[str, int] = {}
        self._lock = threading.Lock()

    def get(self, account_id: str, bot_id: str, kind: ArtifactKind) -> Final | None:
        return self._entries.get((account_id, bot_id, kind))

    def config(self, account_id: str) -> tuple[bool, ActiveStorage | None]:
        """(known, the configuration in force; None: none is): not known means ask the database."""
        with self._lock:
            return account_id in self._configs, self._configs.get(account_id)

    def generation(self, account_id: str) -> int:
        """Take this before a read whose result may be remembered."""
        return self._generations.get(account_id, 0)

    def remember(
        self,
        account_id: str,
        bot_id: str,
        pin: PinnedLocation | None,
        kind: ArtifactKind,
        row: ArtifactRecord | None,
        *,
        expires_at: datetime | None,
        active: ActiveStorage | None,
        generation: int,
    ) -> None:
        if self._max == 0 or row is None or pin is None or row.state != UploadState.UPLOADED.value:
            return
        with self._lock:
            if self._generations.get(account_id, 0) != generation:
                return  # the account changed while this was read: what was read may be stale
            while len(self._entries) >= self._max:
                del self._entries[next(iter(self._entries))]
            self._entries[(account_id, bot_id, kind)] = Final(row.key, pin, expires_at)
            if pin.kind is PinKind.CUSTOM:  # a platform pin's read did not look at the configuration
                if len(self._configs) >= self._max and account_id not in self._configs:
                    del self._configs[next(iter(self._configs))]
                self._configs[account_id] = active

    def forget_account(self, account_id: str) -> None:
        """Drop every entry of the account (one of its bots was erased, or its storage changed)."""
        with self._lock:
            self._generations[account_id] = self._generations.get(account_id, 0) + 1
            self._configs.pop(account_id, None)
            for entry in [e for e in self._entries if e[0] == account_id]:
                del self._entries[entry]

    def __len__(self) -> int:
        return len(self._entries)
