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
from datetime import UTC, datetime
from typing import Any

from meetstore.domain.artifacts import ArtifactKind
from meetstore.domain.fetch_policy import ArtifactState, Outcome, collection_state, decide
from meetstore.domain.ids import canonical_id
from meetstore.domain.pin import PinKind
from meetstore.domain.ports import ObjectStore
from meetstore.domain.records import ArtifactRecord
from meetstore.domain.storage_target import ActiveStorage
from meetstore.errors import ArtifactNotFound, BotNotFound, InvalidRequest
from meetstore.services.fetch_answers import (
    INLINE_READ_CAP,
    decode_screenshot_cursor,
    encode_screenshot_cursor,
    measured,
    meeting_start,
    meetstream_participants,
    participant_names,
    read_inline,
    taken_at,
)
from meetstore.services.fetch_core import ENDPOINT_OF, TTL_OF, FetchCore
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

SCREENSHOTS_DEFAULT_LIMIT = 100
SCREENSHOTS_MAX_LIMIT = 1000
__all__ = ["INLINE_READ_CAP", "FetchService"]


class FetchService(FetchCore):
    def known(self, account_id: str, bot_id: str, kind: ArtifactKind) -> FileUrl | None:
        """The answer for a finished file whose location is remembered, when giving it needs no
        I/O at all (no database read; the URL signed locally with a client already built), so a
        caller on an event loop may take it there. None: the endpoint's method must answer (from
        memory too where it can, building a customer bucket's client first)."""
        answer = self._known(account_id, bot_id, kind, on_loop=True)
        if answer is not None:
            self.metrics.fetch_answered(ENDPOINT_OF[kind], "ok")
        return answer

    def _known(self, account_id: str, bot_id: str, kind: ArtifactKind, *, on_loop: bool = False) -> FileUrl | None:
        """A finished file's answer from what this process remembers, through the same decision
        as a database read; None when something is not remembered or the answer is not a URL
        (the database path then answers it, errors included)."""
        bid = canonical_id(bot_id)
        if bid is None or kind not in TTL_OF:
            return None
        final = self.final.get(account_id, bid, kind)
        if final is None:
            return None
        active: ActiveStorage | None = None
        current = None
        if final.pin.kind is PinKind.CUSTOM:
            known, active = self.final.config(account_id)
            if not known:
                return None
            current = None if active is None else active.current
        decision = decide(
            final.pin, current, ArtifactState.UPLOADED, expires_at=final.expires_at, now=datetime.now(UTC)
        )
        store: ObjectStore | None = None
        if decision.outcome is Outcome.SERVE_PLATFORM:
            if on_loop and not self._locations.platform_signs_locally:
                return None
            store = self._locations.platform
        elif decision.outcome is Outcome.SERVE_CUSTOM and active is not None:
            store = self._locations.custom_store_if_ready(active) if on_loop else self._locations.custom_store(active)
        if store is None:
            return None
        return self._presigned(account_id, bid, kind, store, final.key)

    def _single_url(self, account_id: str, bot_id: str, kind: ArtifactKind) -> FileUrl:
        generation = self.final.generation(account_id)  # before the read: see fetch_cache
        snap, row = self._single(account_id, bot_id, kind)
        store = self._resolve(snap, [row], kind, error_key=row.key if row else None)
        answer = self._presigned(account_id, snap.bot.id, kind, store, self._key(row))
        self.final.remember(
            account_id,
            snap.bot.id,
            snap.pin,
            kind,
            row,
            expires_at=snap.bot.retention_expires_at,
            active=snap.active,
            generation=generation,
        )
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

