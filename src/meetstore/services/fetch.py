"""Fetch endpoints' use cases: the access decision, then a presigned URL or inline JSON.

Every endpoint goes the same way: load the bot (404 when it is unknown or another account's), the
artifact rows it asks about and the account's storage configuration in force (one short read),
reduce the rows to one `ArtifactState`, ask `domain.fetch_policy.decide`, then either raise the
domain error of the outcome (services/fetch_errors.py) or sign URLs / read the file with the store
the decision names.

No network call happens on the presigned path: S3 URLs are signed locally (SigV4) with the cached
client of (account, config version); local platform-store URLs are HMAC tokens. Inline endpoints
(transcript, participants, speaker timeline) read the object with the same store, capped in size.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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
from meetstore.errors import ArtifactNotFound, BotNotFound, InvalidRequest
from meetstore.services.audit import AuditTrail
from meetstore.services.erasure_marks import erased_at, erasure_of
from meetstore.services.fetch_answers import (
    INLINE_READ_CAP,
    Expiry,
    decode_screenshot_cursor,
    encode_screenshot_cursor,
    expiry,
    measured,
    meeting_start,
    meetstream_participants,
    participant_names,
    read_inline,
    taken_at,
)
from meetstore.services.fetch_cache import FinalLocations
from meetstore.services.fetch_errors import ended_with_error, error_of
from meetstore.services.fetch_results import (
    FileUrl,
    ScreenshotPage,
    ScreenshotUrl,
    StreamUrl,
    StreamUrls,
    TranscriptUrls,
    VideoInfo,
    VideoUrl,
)
from meetstore.services.locations import Locations, pin_of

NO_SUCH_BOT = "No bot with this id exists in this account."
"""The one 404 body for an unknown bot, another account's bot and a malformed id (as services.bots)."""

SCREENSHOTS_DEFAULT_LIMIT = 100
SCREENSHOTS_MAX_LIMIT = 1000
__all__ = ["INLINE_READ_CAP", "FetchService"]

_TTL_OF: dict[ArtifactKind, str] = {
    ArtifactKind.AUDIO: "audio",
    ArtifactKind.CHAT: "chats",
    ArtifactKind.MANIFEST: "manifest",
}
"""The endpoints whose answer is one URL: kind → the TTL setting of its URL."""
_ENDPOINT = {
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


class FetchService:
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

    # --- endpoints returning one presigned URL ------------------------------------------------
    def _presigned(
        self, account_id: str, bot_id: str, kind: ArtifactKind, store: ObjectStore, key: str
    ) -> FileUrl:
        exp = self._expiry(_TTL_OF[kind])
        url = store.presign_get(key, exp.expires_in)
        self._audit.url_issued(account_id, bot_id, _ENDPOINT[kind], exp.expires_at, key=key)
        return FileUrl(url, exp)

    def known(self, account_id: str, bot_id: str, kind: ArtifactKind) -> FileUrl | None:
        """The answer for a finished platform-store file whose location is remembered: no
        database read, no network (the URL is signed locally), so a caller on an event loop may
        take it there. None: the endpoint's method must read the database (or the platform store's
        credentials may need fetching)."""
        if not self._locations.platform_signs_locally:
            return None
        answer = self._known(account_id, bot_id, kind)
        if answer is not None:
            self.metrics.fetch_answered(_ENDPOINT[kind], "ok")
        return answer

    def _known(self, account_id: str, bot_id: str, kind: ArtifactKind) -> FileUrl | None:
        bid = canonical_id(bot_id)
        if bid is None or kind not in _TTL_OF:
            return None
        key = self.final.get(account_id, bid, kind)
        return None if key is None else self._presigned(account_id, bid, kind, self._locations.platform, key)

    def _single_url(self, account_id: str, bot_id: str, kind: ArtifactKind) -> FileUrl:
        snap, row = self._single(account_id, bot_id, kind)
        store = self._resolve(snap, [row], kind, error_key=row.key if row else None)
        answer = self._presigned(account_id, snap.bot.id, kind, store, self._key(row))
        self.final.remember(account_id, snap.bot.id, snap.pin, kind, row)
        return answer

    @measured("get_audio")
    def audio(self, account_id: str, bot_id: str) -> FileUrl:
        return self._known(account_id, bot_id, ArtifactKind.AUDIO) or self._single_url(
            account_id, bot_id, ArtifactKind.AUDIO
        )

    @measured("get_chats")
    def chats(self, account_id: str, bot_id: str) -> FileUrl:
        return self._known(account_id, bot_id, ArtifactKind.CHAT) or self._single_url(
            account_id, bot_id, ArtifactKind.CHAT
        )

    @measured("get_manifest")
    def manifest(self, account_id: str, bot_id: str) -> FileUrl:
        return self._known(account_id, bot_id, ArtifactKind.MANIFEST) or self._single_url(
            account_id, bot_id, ArtifactKind.MANIFEST
        )

    @measured("get_video")
    def video(self, account_id: str, bot_id: str) -> VideoUrl:
        snap, row = self._single(account_id, bot_id, ArtifactKind.VIDEO)
        store = self._resolve(snap, [row], ArtifactKind.VIDEO, error_key=row.key if row else None)
        exp = self._expiry("video")
        info = VideoInfo.reported((snap.bot.meeting_data or {}).get("video_info"))
        url = store.presign_get(self._key(row), exp.expires_in)
        self._audit.url_issued(account_id, snap.bot.id, "get_video", exp.expires_at, key=self._key(row))
        return VideoUrl(url, exp, info)

    # --- collections ------------------------------------------------------------------------------
    @measured("get_audio_streams")
    def audio_streams(self, account_id: str, bot_id: str) -> StreamUrls:
        return self._streams(account_id, bot_id, ArtifactKind.AUDIO_STREAM, "audio_streams")

    @measured("get_recording_streams")
    def recording_streams(self, account_id: str, bot_id: str) -> StreamUrls:
        """Per-participant video (MeetStream's `per_participant_video`)."""
        return self._streams(account_id, bot_id, ArtifactKind.RECORDING_STREAM, "recording_streams")

    def _streams(self, account_id: str, bot_id: str, kind: ArtifactKind, name: str) -> StreamUrls:
        with self._tx.read() as tx:
            snap = self._snapshot(tx, account_id, bot_id)
            rows = tx.artifacts.of_kinds(snap.bot.id, [kind.value])
        store = self._resolve(snap, rows, kind, error_key=self._folder(snap, kind, rows))
        exp = self._expiry(name)
        names = participant_names(snap.bot)
        streams = []
        for row in rows:
            pid = f"{row.participant}_{row.seq}"
            participant = names.get(pid, row.participant or pid)
            streams.append(StreamUrl(participant, pid, store.presign_get(row.key, exp.expires_in), row.key))
        self._issued(account_id, snap, f"get_{name}", kind, exp, [r.key for r in rows])
        return StreamUrls(tuple(streams), exp)

    @measured("get_screenshots")
    def screenshots(
        self,
        account_id: str,
        bot_id: str,
        *,
        limit: int = SCREENSHOTS_DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> ScreenshotPage:
        if not 1 <= limit <= SCREENSHOTS_MAX_LIMIT:
            raise InvalidRequest(
                f"limit must be between 1 and {SCREENSHOTS_MAX_LIMIT}.",
                [{"field": "limit", "message": f"must be between 1 and {SCREENSHOTS_MAX_LIMIT}"}],
            )
        after = decode_screenshot_cursor(cursor) if cursor else 0
        kind = ArtifactKind.SCREENSHOT
        with self._tx.read() as tx:
            snap = self._snapshot(tx, account_id, bot_id)
            # The whole collection's state without loading it: one grouped count on the index.
            counts = tx.artifacts.state_counts(snap.bot.id, kind.value)
            state = collection_state(s for s, n in counts.items() if n)
            failed = (
                tx.artifacts.first_failed(snap.bot.id, kind.value) if state is ArtifactState.FAILED else None
            )
            page: list[ArtifactRecord] = []
            if state is ArtifactState.UPLOADED:
                page = tx.artifacts.page_of_kind(snap.bot.id, kind.value, after, limit + 1)
        store = self._decide_store(snap, state, kind, failed=failed, error_key=self._folder(snap, kind, page))
        exp = self._expiry("screenshots")
        more = len(page) > limit
        page = page[:limit]
        start = meeting_start(snap.bot)
        items = tuple(
            ScreenshotUrl(
                store.presign_get(row.key, exp.expires_in), taken_at(start, row.taken_at_s), row.key
            )
            for row in page
        )
        self._issued(account_id, snap, "get_screenshots", kind, exp, [r.key for r in page])
        return ScreenshotPage(items, exp, encode_screenshot_cursor(page[-1].seq) if more and page else None)

    @measured("transcriptions")
    def transcriptions(self, account_id: str, bot_id: str) -> TranscriptUrls:
        kinds = (ArtifactKind.TRANSCRIPT_RAW, ArtifactKind.TRANSCRIPT_PROCESSED)
        with self._tx.read() as tx:
            snap = self._snapshot(tx, account_id, bot_id)
            rows = tx.artifacts.of_kinds(snap.bot.id, [k.value for k in kinds])
        # Report the raw transcript first when both failed.
        rows.sort(key=lambda r: 0 if r.kind == ArtifactKind.TRANSCRIPT_RAW.value else 1)
        store = self._resolve(
            snap,
            rows,
            ArtifactKind.TRANSCRIPT_RAW,
            error_key=self._folder(snap, ArtifactKind.TRANSCRIPT_RAW, rows),
        )
        exp = self._expiry("transcript")
        by_kind = {row.kind: row for row in rows}

        def url(kind: ArtifactKind) -> str | None:
            row = by_kind.get(kind.value)
            return None if row is None else store.presign_get(row.key, exp.expires_in)

        self._issued(account_id, snap, "transcriptions", kinds[0], exp, [r.key for r in rows])
        return TranscriptUrls(
            snap.bot.transcript_id, snap.bot.transcript_provider, url(kinds[0]), url(kinds[1]), exp
        )

    # --- inline endpoints -------------------------------------------------------------------------
    @measured("get_transcript")
    def transcript(self, account_id: str, transcript_id: str, *, raw: bool = False) -> bytes:
        """The stored transcript file's exact bytes (processed.json, or raw.json with `raw`)."""
        kind = ArtifactKind.TRANSCRIPT_RAW if raw else ArtifactKind.TRANSCRIPT_PROCESSED
        tid = canonical_id(transcript_id)
        with self._tx.read() as tx:
            bot = None if tid is None else tx.bots.by_transcript(tid, account_id)
            if bot is None:
                raise BotNotFound("No transcript with this id exists in this account.")
            snap = self._snapshot_of(tx, bot)
            row = tx.artifacts.first_of_kind(bot.id, kind.value)
        store = self._resolve(snap, [row], kind, error_key=row.key if row else None)
        return read_inline(store, self._key(row), row.size if row else 0)

    @measured("get_participants")
    def participants(self, account_id: str, bot_id: str) -> Any:
        """MeetStream's `[{deviceId, fullName, profilePicture, status, streamIds}]`."""
        return meetstream_participants(self._manifest_doc(account_id, bot_id))

    @measured("get_speaker_timeline")
    def speaker_timeline(self, account_id: str, bot_id: str) -> Any:
        return self._from_manifest(account_id, bot_id, "speaker_timeline")

    def _from_manifest(self, account_id: str, bot_id: str, field: str) -> Any:
        doc = self._manifest_doc(account_id, bot_id)
        value = doc.get(field)
        if value is None and isinstance(doc.get("meeting"), dict):
            value = doc["meeting"].get(field)
        return [] if value is None else value

    def inline(self, account_id: str, bot_id: str, kind: ArtifactKind) -> bytes:
        """A small stored file's bytes, read server-side (the manifest, or the chat log for the
        console), with every fetch outcome."""
        snap, row = self._single(account_id, bot_id, kind)
        store = self._resolve(snap, [row], kind, error_key=row.key if row else None)
        return read_inline(store, self._key(row), row.size if row else 0)

    def _manifest_doc(self, account_id: str, bot_id: str) -> dict[str, Any]:
        data = self.inline(account_id, bot_id, ArtifactKind.MANIFEST)
        try:
            doc = json.loads(data)
        except ValueError as exc:
            raise ArtifactNotFound("The stored manifest of this bot is not valid JSON.") from exc
        return doc if isinstance(doc, dict) else {}

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
        outcome = decide(pin, snap.current, state, erased).outcome
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
            erased_at=erased_at(bot),
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
