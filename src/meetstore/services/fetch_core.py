"""What every fetch endpoint shares: loading the bot, its rows and the configuration in force in
one short read, the one access decision (`domain.fetch_policy.decide`) and signing a URL with the
store it names. `services/fetch.py` builds the endpoints on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from meetstore.config import Settings
from meetstore.domain.artifacts import NEVER_ADMITTED, ArtifactKind, BotStatus, UploadState
from meetstore.domain.fetch_policy import ArtifactState, Outcome, collection_state, decide
from meetstore.domain.ids import canonical_id
from meetstore.domain.key_layout import collection_prefix
from meetstore.domain.pin import PinKind, PinnedLocation
from meetstore.domain.ports import Metrics, ObjectStore
from meetstore.domain.read_queries import FetchQueries
from meetstore.domain.records import ArtifactRecord, BotRecord
from meetstore.domain.repositories import Transaction, Transactions
from meetstore.domain.storage_config import CategoryPrefixes, CurrentStorage
from meetstore.domain.storage_target import ActiveStorage, active_of
from meetstore.errors import BotNotFound
from meetstore.services.audit import AuditTrail
from meetstore.services.erasure_marks import erased_at, erasure_of
from meetstore.services.fetch_answers import (
    Expiry,
    expiry,
)
from meetstore.services.fetch_cache import FinalLocations
from meetstore.services.fetch_errors import ended_with_error, error_of
from meetstore.services.fetch_results import (
    FileUrl,
)
from meetstore.services.locations import Locations, pin_of

NO_SUCH_BOT = "No bot with this id exists in this account."
"""The one 404 body for an unknown bot, another account's bot and a malformed id (as services.bots)."""

TTL_OF: dict[ArtifactKind, str] = {
    ArtifactKind.AUDIO: "audio",
    ArtifactKind.CHAT: "chats",
    ArtifactKind.MANIFEST: "manifest",
}
"""The endpoints whose answer is one URL: kind → the TTL setting of its URL."""
ENDPOINT_OF = {
    ArtifactKind.AUDIO: "get_audio",
    ArtifactKind.CHAT: "get_chats",
    ArtifactKind.MANIFEST: "get_manifest",
}


@dataclass(frozen=True)
class _Snapshot:
    """What one fetch needs, read in one transaction."""

    bot: BotRecord
    pin: PinnedLocation | None
    active: ActiveStorage | None

    @property
    def current(self) -> CurrentStorage | None:
        return None if self.active is None else self.active.current


class FetchCore:
    def __init__(
        self,
        tx: Transactions,
        reads: FetchQueries,
        settings: Settings,
        locations: Locations,
        metrics: Metrics,
        audit: AuditTrail,
    ) -> None:
        self._audit = audit
        self._tx = tx
        self.metrics = metrics
        self._reads = reads
        self._settings = settings
        self._locations = locations
        self.final = FinalLocations(settings.fetch_cache_entries)

    def _presigned(
        self, account_id: str, bot_id: str, kind: ArtifactKind, store: ObjectStore, key: str
    ) -> FileUrl:
        exp = self._expiry(TTL_OF[kind])
        url = store.presign_get(key, exp.expires_in)
        self._audit.url_issued(account_id, bot_id, ENDPOINT_OF[kind], exp.expires_at, key=key)
        return FileUrl(url, exp)

    # --- loading --------------------------------------------------------------------------------
    def _snapshot(self, tx: Transaction, account_id: str, bot_id: str) -> _Snapshot:
        bid = canonical_id(bot_id)
        bot = None if bid is None else tx.bots.get(bid)
        if bot is None or bot.account_id != account_id:
            raise BotNotFound(NO_SUCH_BOT)
        return self._snapshot_of(tx, bot)

    @staticmethod
    def _snapshot_of(tx: Transaction, bot: BotRecord) -> _Snapshot:
        pin = pin_of(bot)
        active = None
        if pin is not None and pin.kind is PinKind.CUSTOM:
            found = tx.storage_configs.with_external_id(bot.account_id)
            active = None if found is None else active_of(*found)
        return _Snapshot(bot=bot, pin=pin, active=active)

    def _single(
        self, account_id: str, bot_id: str, kind: ArtifactKind
    ) -> tuple[_Snapshot, ArtifactRecord | None]:
        """The bot, its first artifact of `kind` and the storage configuration in ONE read (the
        hot path of get_audio & co.)."""
        bid = canonical_id(bot_id)
        found = None if bid is None else self._reads.bot_with_first(bid, account_id, kind.value)
        if found is None:
            raise BotNotFound(NO_SUCH_BOT)
        pin = pin_of(found.bot)
        active = None
        if pin is not None and pin.kind is PinKind.CUSTOM and found.config is not None:
            active = active_of(found.config, found.external_id)
        return _Snapshot(bot=found.bot, pin=pin, active=active), found.artifact

    @staticmethod
    def _key(row: ArtifactRecord | None) -> str:
        assert row is not None  # the decision served it, so the row exists
        return row.key

    # --- the decision ---------------------------------------------------------------------------
    def _resolve(
        self,
        snap: _Snapshot,
        rows: Sequence[ArtifactRecord | None],
        kind: ArtifactKind,
        *,
        error_key: str | None,
    ) -> ObjectStore:
        present = [r for r in rows if r is not None]
        state = collection_state(r.state for r in present)
        failed = next((r for r in present if r.state == UploadState.FAILED.value), None)
        return self._decide_store(snap, state, kind, failed=failed, error_key=error_key)

    def _decide_store(
        self,
        snap: _Snapshot,
        state: ArtifactState,
        kind: ArtifactKind,
        *,
        failed: ArtifactRecord | None,
        error_key: str | None,
    ) -> ObjectStore:
        bot, pin = snap.bot, snap.pin
        erased = erasure_of(bot)
        if pin is None and erased is None:
            if bot.status == BotStatus.ERROR.value or BotStatus(bot.status) in NEVER_ADMITTED:
                raise ended_with_error(kind, bot.status)  # outcome 3: nothing is coming
            state = ArtifactState.NOT_PINNED
        now = datetime.now(UTC)
        outcome = decide(pin, snap.current, state, erased, expires_at=bot.retention_expires_at, now=now).outcome
        if outcome is Outcome.SERVE_PLATFORM:
            return self._locations.platform
        if outcome is Outcome.SERVE_CUSTOM:
            assert snap.active is not None
            return self._locations.custom_store(snap.active)
        raise error_of(
            outcome,
            kind,
            bot_id=bot.id,
            status=bot.status,
            pin=pin,
            current=snap.current,
            failed=failed,
            error_key=error_key,
            erased_at=erased_at(bot) or bot.retention_expires_at,
        )

    @staticmethod
    def _folder(snap: _Snapshot, kind: ArtifactKind, rows: Sequence[ArtifactRecord]) -> str | None:
        """A collection's folder, for the location fields of a 403."""
        raw = snap.bot.pin_prefixes
        if isinstance(raw, dict):
            try:
                prefixes = CategoryPrefixes(
                    audio=str(raw["audio"]),
                    video=str(raw["video"]),
                    transcript=str(raw["transcript"]),
                    metadata=str(raw["metadata"]),
                )
                return collection_prefix(
                    kind,
                    prefixes,
                    snap.bot.id,
                    provider=snap.bot.transcript_provider,
                    transcript_id=snap.bot.transcript_id,
                )
            except (KeyError, ValueError):
                pass
        if rows:
            return rows[0].key.rsplit("/", 1)[0] + "/"
        return None

    def _issued(
        self,
        account_id: str,
        snap: _Snapshot,
        endpoint: str,
        kind: ArtifactKind,
        exp: Expiry,
        keys: list[str],
    ) -> None:
        """A collection's URLs in the audit trail: its folder and how many (a page of screenshots
        is one entry, not a thousand)."""
        if keys:
            folder = self._folder(snap, kind, [])
            collection = folder if folder is not None else keys[0].rsplit("/", 1)[0] + "/"
            self._audit.url_issued(
                account_id, snap.bot.id, endpoint, exp.expires_at, collection=collection, count=len(keys)
            )

    def _expiry(self, name: str) -> Expiry:
        return expiry(self._settings.ttl_for(name))
