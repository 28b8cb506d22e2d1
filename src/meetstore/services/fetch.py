"""Fetch endpoints' use cases: the access decision, then a presigned URL or inline JSON. (Issue 4.)

Every endpoint goes the same way: load the bot (404 when it is unknown or another account's), load
the artifact rows it asks about and the account's storage configuration in force (one short
transaction), reduce the rows to one `ArtifactState`, ask `domain.fetch_policy.decide`, then either
raise the domain error of the outcome or sign URLs / read the file with the store the decision names.

No network call happens on the presigned path: S3 URLs are signed locally (SigV4) with the cached
client of (account, config version); local platform-store URLs are HMAC tokens. Inline endpoints
(transcript, participants, speaker timeline) read the object with the same store, capped in size.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, func, select
from sqlalchemy.orm import Session

from meetstore.adapters.db.engine import Database
from meetstore.adapters.db.tables import Account, Artifact, Bot, StorageConfigRow
from meetstore.adapters.platform_store.local import LocalPlatformStore
from meetstore.adapters.s3.bucket import S3Bucket
from meetstore.config import Settings
from meetstore.domain.artifacts import ArtifactKind, BotStatus, UploadState
from meetstore.domain.clock import rfc3339
from meetstore.domain.fetch_policy import (
    ArtifactState,
    CurrentStorage,
    Outcome,
    PinKind,
    PinnedLocation,
    decide,
)
from meetstore.domain.ids import InvalidCursor, canonical_id, decode_cursor, encode_cursor
from meetstore.domain.key_layout import collection_prefix
from meetstore.domain.storage_config import CategoryPrefixes
from meetstore.errors import (
    AccessRefused,
    ArtifactNotFound,
    BotNotFound,
    InvalidRequest,
    MediaNotReady,
    PayloadTooLarge,
    S3OperationError,
    UploadFailed,
)
from meetstore.services.locations import Locations, pin_of
from meetstore.services.storage_config import ActiveStorage, active_of

INLINE_READ_CAP = 20 * 1024 * 1024
"""Largest object an inline endpoint reads into memory (transcript, manifest)."""

NO_SUCH_BOT = "No bot with this id exists in this account."
"""The one 404 body for an unknown bot, another account's bot and a malformed id (as services.bots)."""

SCREENSHOTS_DEFAULT_LIMIT = 100
SCREENSHOTS_MAX_LIMIT = 1000

VIDEO_INFO_FIELDS = ("duration", "size_mb", "resolution", "fps", "frames_processed", "corrupted_frames")

_LABEL: dict[ArtifactKind, str] = {
    ArtifactKind.AUDIO: "audio",
    ArtifactKind.AUDIO_STREAM: "per-participant audio",
    ArtifactKind.VIDEO: "video",
    ArtifactKind.SCREENSHOT: "screenshots",
    ArtifactKind.TRANSCRIPT_RAW: "transcript",
    ArtifactKind.TRANSCRIPT_PROCESSED: "transcript",
    ArtifactKind.CHAT: "chat log",
    ArtifactKind.MANIFEST: "manifest",
}

Store = LocalPlatformStore | S3Bucket


# --- the single-artifact query (built once) -------------------------------------------------------
_BOT_FIELDS = (
    "id",
    "account_id",
    "status",
    "transcript_id",
    "transcript_provider",
    "pin_kind",
    "pin_bucket",
    "pin_region",
    "pin_endpoint_url",
    "pin_config_version",
    "pin_prefixes",
    "meeting_data",
    "created_at",
    "left_at",
)
"""The bot columns the fetch endpoints read (decision, folder, video info, screenshot times)."""
_ARTIFACT_FIELDS = (
    "id",
    "bot_id",
    "kind",
    "seq",
    "participant",
    "key",
    "state",
    "size",
    "last_error_code",
    "last_error_operation",
    "last_error_message",
)
_CONFIG_FIELDS = tuple(column.key for column in StorageConfigRow.__table__.columns)
_BOT_SLICE = slice(0, len(_BOT_FIELDS))
_ARTIFACT_SLICE = slice(_BOT_SLICE.stop, _BOT_SLICE.stop + len(_ARTIFACT_FIELDS))
_CONFIG_SLICE = slice(_ARTIFACT_SLICE.stop, _ARTIFACT_SLICE.stop + len(_CONFIG_FIELDS))

_SINGLE_QUERY = (
    select(
        *(getattr(Bot, name) for name in _BOT_FIELDS),
        *(getattr(Artifact, name) for name in _ARTIFACT_FIELDS),
        *(getattr(StorageConfigRow, name) for name in _CONFIG_FIELDS),
        Account.external_id,
    )
    .join(Account, Account.id == Bot.account_id)
    .outerjoin(Artifact, and_(Artifact.bot_id == Bot.id, Artifact.kind == bindparam("kind")))
    .outerjoin(StorageConfigRow, StorageConfigRow.account_id == Bot.account_id)
    .where(Bot.id == bindparam("bot_id"), Bot.account_id == bindparam("account_id"))
    .order_by(Artifact.seq)
    .limit(1)
)
"""One bot (primary key, and the caller's account), its first artifact of a kind
(ix_artifacts_bot_kind_seq) and the account's storage configuration (primary key)."""


# --- pure helpers ---------------------------------------------------------------------------------


def state_of_row(state: str | None) -> ArtifactState:
    """One artifact row's upload state as the fetch policy sees it (None: no row, never produced)."""
    if state is None:
        return ArtifactState.MISSING
    if state == UploadState.UPLOADED:
        return ArtifactState.UPLOADED
    if state == UploadState.FAILED:
        return ArtifactState.FAILED
    return ArtifactState.PENDING


def collection_state(states: Iterable[str]) -> ArtifactState:
    """A collection's state: any pending → PENDING; none → MISSING; any failed → FAILED; else UPLOADED."""
    seen = {state_of_row(s) for s in states}
    if not seen:
        return ArtifactState.MISSING
    if ArtifactState.PENDING in seen:
        return ArtifactState.PENDING
    if ArtifactState.FAILED in seen:
        return ArtifactState.FAILED
    return ArtifactState.UPLOADED


def encode_screenshot_cursor(after_seq: int) -> str:
    return encode_cursor(after_seq)


def decode_screenshot_cursor(cursor: str) -> int:
    """The screenshot number a cursor continues after; InvalidRequest when it is not one of ours."""
    try:
        (after,) = decode_cursor(cursor, int)
    except InvalidCursor:
        after = -1
    if not isinstance(after, int) or after < 0:
        raise InvalidRequest(
            "Invalid cursor: pass the next_cursor of a previous page unchanged.",
            [{"field": "cursor", "message": "not a cursor returned by this endpoint"}],
        )
    return after


def _location(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


@dataclass(frozen=True)
class _Expiry:
    expires_in: int
    expires_at: str


# --- the service ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Snapshot:
    """What one fetch needs, read in one transaction."""

    bot: Bot
    pin: PinnedLocation | None
    active: ActiveStorage | None

    @property
    def current(self) -> CurrentStorage | None:
        return None if self.active is None else self.active.current


class FinalLocations:
    """Where the finished files of platform-pinned bots are: (account, bot, kind) → object key.

    Exact for as long as the process lives, so it never needs invalidating: a bot's pin is written
    once, an uploaded artifact row never changes state again (UploadState.UPLOADED is terminal),
    and rows are never deleted. Only such rows are remembered, and only for the endpoints whose
    answer is nothing but a URL for that key (audio, chat log, manifest); a custom bucket's files
    always go through the database, since the configuration they are served with may change.
    Bounded (`fetch_cache_entries`; 0 turns it off): the oldest entries go first.
    """

    def __init__(self, max_entries: int) -> None:
        self._max = max(0, max_entries)
        self._entries: dict[tuple[str, str, ArtifactKind], str] = {}
        self._lock = threading.Lock()

    def get(self, account_id: str, bot_id: str, kind: ArtifactKind) -> str | None:
        return self._entries.get((account_id, bot_id, kind))

    def remember(self, account_id: str, snap: _Snapshot, kind: ArtifactKind, row: Artifact | None) -> None:
        if self._max == 0 or row is None or snap.pin is None or snap.pin.kind is not PinKind.PLATFORM:
            return
        if row.state != UploadState.UPLOADED.value:
            return
        with self._lock:
            while len(self._entries) >= self._max:
                del self._entries[next(iter(self._entries))]
            self._entries[(account_id, snap.bot.id, kind)] = row.key

    def __len__(self) -> int:
        return len(self._entries)


_URL_FIELD: dict[ArtifactKind, tuple[str, str]] = {
    ArtifactKind.AUDIO: ("audio_url", "audio"),
    ArtifactKind.CHAT: ("download_url", "chats"),
    ArtifactKind.MANIFEST: ("manifest_url", "manifest"),
}
"""The endpoints answered from FinalLocations: kind → (URL field, TTL setting)."""


class FetchService:
    def __init__(self, db: Database, settings: Settings, locations: Locations) -> None:
        self._db = db
        self._settings = settings
        self._locations = locations
        self.final = FinalLocations(settings.fetch_cache_entries)

    # --- endpoints returning presigned URLs ---------------------------------------------------
    def cached(self, account_id: str, bot_id: str, kind: ArtifactKind) -> dict[str, Any] | None:
        """The answer of get_audio / get_chats / get_manifest when the file's location is known
        (FinalLocations): no database, no I/O beyond signing. None: ask the database."""
        if kind not in _URL_FIELD:
            return None
        bid = canonical_id(bot_id)
        key = None if bid is None else self.final.get(account_id, bid, kind)
        if key is None:
            return None
        return self._presigned(kind, self._locations.platform.store, key)

    def _presigned(self, kind: ArtifactKind, store: Store, key: str) -> dict[str, Any]:
        field, ttl_name = _URL_FIELD[kind]
        exp = self._expiry(ttl_name)
        out = {field: store.presign_get(key, exp.expires_in), **_exp(exp)}
        if kind is ArtifactKind.CHAT:
            out["file_type"] = "json"
        return out

    def _single_url(self, account_id: str, bot_id: str, kind: ArtifactKind) -> dict[str, Any]:
        hit = self.cached(account_id, bot_id, kind)
        if hit is not None:
            return hit
        snap, row = self._single(account_id, bot_id, kind)
        store = self._resolve(snap, [row], kind, error_key=row.key if row else None)
        answer = self._presigned(kind, store, self._key(row))
        self.final.remember(account_id, snap, kind, row)
        return answer

    def audio(self, account_id: str, bot_id: str) -> dict[str, Any]:
        return self._single_url(account_id, bot_id, ArtifactKind.AUDIO)

    def video(self, account_id: str, bot_id: str) -> dict[str, Any]:
        snap, row = self._single(account_id, bot_id, ArtifactKind.VIDEO)
        store = self._resolve(snap, [row], ArtifactKind.VIDEO, error_key=row.key if row else None)
        exp = self._expiry("video")
        info = (snap.bot.meeting_data or {}).get("video_info") or {}
        if not isinstance(info, dict):
            info = {}
        return {
            "video_url": store.presign_get(self._key(row), exp.expires_in),
            **_exp(exp),
            "video_info": {k: info.get(k) for k in VIDEO_INFO_FIELDS},
        }

    def chats(self, account_id: str, bot_id: str) -> dict[str, Any]:
        return self._single_url(account_id, bot_id, ArtifactKind.CHAT)

    def manifest(self, account_id: str, bot_id: str) -> dict[str, Any]:
        return self._single_url(account_id, bot_id, ArtifactKind.MANIFEST)

    def audio_streams(self, account_id: str, bot_id: str) -> dict[str, Any]:
        with self._db.read() as s:
            snap = self._snapshot(s, account_id, bot_id)
            rows = list(
                s.execute(
                    select(Artifact)
                    .where(Artifact.bot_id == snap.bot.id, Artifact.kind == ArtifactKind.AUDIO_STREAM.value)
                    .order_by(Artifact.seq, Artifact.participant)
                ).scalars()
            )
        store = self._resolve(
            snap,
            rows,
            ArtifactKind.AUDIO_STREAM,
            error_key=self._folder(snap, ArtifactKind.AUDIO_STREAM, rows),
        )
        exp = self._expiry("audio_streams")
        names = _participant_names(snap.bot)
        streams = []
        for row in rows:
            pid = f"{row.participant}_{row.seq}"
            streams.append(
                {
                    "participant": names.get(pid, row.participant),
                    "participant_id": pid,
                    "url": store.presign_get(row.key, exp.expires_in),
                    "key": row.key,
                }
            )
        return {"streams": streams, **_exp(exp)}

    def screenshots(
        self,
        account_id: str,
        bot_id: str,
        *,
        limit: int = SCREENSHOTS_DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        if not 1 <= limit <= SCREENSHOTS_MAX_LIMIT:
            raise InvalidRequest(
                f"limit must be between 1 and {SCREENSHOTS_MAX_LIMIT}.",
                [{"field": "limit", "message": f"must be between 1 and {SCREENSHOTS_MAX_LIMIT}"}],
            )
        after = decode_screenshot_cursor(cursor) if cursor else 0
        kind = ArtifactKind.SCREENSHOT.value
        with self._db.read() as s:
            snap = self._snapshot(s, account_id, bot_id)
            # The whole collection's state without loading it: one grouped count on the index.
            counts = s.execute(
                select(Artifact.state, func.count())
                .where(Artifact.bot_id == snap.bot.id, Artifact.kind == kind)
                .group_by(Artifact.state)
            ).all()
            states = [str(state) for state, n in counts if n]
            state = collection_state(states)
            failed: list[Artifact] = []
            if state is ArtifactState.FAILED:
                failed = list(
                    s.execute(
                        select(Artifact)
                        .where(
                            Artifact.bot_id == snap.bot.id,
                            Artifact.kind == kind,
                            Artifact.state == UploadState.FAILED.value,
                        )
                        .order_by(Artifact.seq)
                        .limit(1)
                    ).scalars()
                )
            page: list[Artifact] = []
            if state is ArtifactState.UPLOADED:
                # Keyset pagination on (bot_id, kind, seq): ix_artifacts_bot_kind_seq.
                page = list(
                    s.execute(
                        select(Artifact)
                        .where(Artifact.bot_id == snap.bot.id, Artifact.kind == kind, Artifact.seq > after)
                        .order_by(Artifact.seq)
                        .limit(limit + 1)
                    ).scalars()
                )
        store = self._decide_store(
            snap,
            state,
            ArtifactKind.SCREENSHOT,
            failed=failed[0] if failed else None,
            error_key=self._folder(snap, ArtifactKind.SCREENSHOT, page),
        )
        exp = self._expiry("screenshots")
        more = len(page) > limit
        page = page[:limit]
        start = _meeting_start(snap.bot)
        items = [
            {
                "url": store.presign_get(row.key, exp.expires_in),
                "taken_at": _taken_at(start, row.taken_at_s),
                "key": row.key,
            }
            for row in page
        ]
        return {
            "screenshots": items,
            **_exp(exp),
            "next_cursor": encode_screenshot_cursor(page[-1].seq) if more and page else None,
        }

    def transcriptions(self, account_id: str, bot_id: str) -> dict[str, Any]:
        kinds = (ArtifactKind.TRANSCRIPT_RAW, ArtifactKind.TRANSCRIPT_PROCESSED)
        with self._db.read() as s:
            snap = self._snapshot(s, account_id, bot_id)
            rows = list(
                s.execute(
                    select(Artifact)
                    .where(Artifact.bot_id == snap.bot.id, Artifact.kind.in_([k.value for k in kinds]))
                    .order_by(Artifact.kind, Artifact.seq)
                ).scalars()
            )
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
        urls: dict[str, str | None] = {}
        for name, kind in (("raw_transcript", kinds[0]), ("processed_transcript", kinds[1])):
            row = by_kind.get(kind.value)
            urls[name] = store.presign_get(row.key, exp.expires_in) if row is not None else None
        return {
            "transcript_id": snap.bot.transcript_id,
            "provider": snap.bot.transcript_provider,
            "download_urls": urls,
            **_exp(exp),
        }

    # --- inline endpoints -------------------------------------------------------------------------
    def transcript(self, account_id: str, transcript_id: str, *, raw: bool = False) -> bytes:
        """The stored transcript file's exact bytes (processed.json, or raw.json with `raw`)."""
        kind = ArtifactKind.TRANSCRIPT_RAW if raw else ArtifactKind.TRANSCRIPT_PROCESSED
        tid = canonical_id(transcript_id)
        with self._db.read() as s:
            bot = (
                None
                if tid is None
                else s.execute(
                    select(Bot).where(Bot.transcript_id == tid, Bot.account_id == account_id)
                ).scalar_one_or_none()
            )
            if bot is None:
                raise BotNotFound("No transcript with this id exists in this account.")
            snap = self._snapshot_of(s, bot)
            row = self._row(s, bot.id, kind)
        store = self._resolve(snap, [row], kind, error_key=row.key if row else None)
        return self._read(store, self._key(row), row.size if row else 0)

    def participants(self, account_id: str, bot_id: str) -> Any:
        return self._from_manifest(account_id, bot_id, "participants")

    def speaker_timeline(self, account_id: str, bot_id: str) -> Any:
        return self._from_manifest(account_id, bot_id, "speaker_timeline")

    def _from_manifest(self, account_id: str, bot_id: str, field: str) -> Any:
        snap, row = self._single(account_id, bot_id, ArtifactKind.MANIFEST)
        store = self._resolve(snap, [row], ArtifactKind.MANIFEST, error_key=row.key if row else None)
        data = self._read(store, self._key(row), row.size if row else 0)
        try:
            doc = json.loads(data)
        except ValueError as exc:
            raise ArtifactNotFound("The stored manifest of this bot is not valid JSON.") from exc
        if not isinstance(doc, dict):
            return []
        value = doc.get(field)
        if value is None and isinstance(doc.get("meeting"), dict):
            value = doc["meeting"].get(field)
        return [] if value is None else value

    # --- loading --------------------------------------------------------------------------------
    def _snapshot(self, s: Session, account_id: str, bot_id: str) -> _Snapshot:
        bid = canonical_id(bot_id)
        bot = None if bid is None else s.get(Bot, bid)
        if bot is None or bot.account_id != account_id:
            raise BotNotFound(NO_SUCH_BOT)
        return self._snapshot_of(s, bot)

    def _snapshot_of(self, s: Session, bot: Bot) -> _Snapshot:
        pin = pin_of(bot)
        active = None
        if pin is not None and pin.kind is PinKind.CUSTOM:
            found = s.execute(
                select(StorageConfigRow, Account.external_id)
                .join(Account, Account.id == StorageConfigRow.account_id)
                .where(StorageConfigRow.account_id == bot.account_id)
            ).first()
            active = None if found is None else active_of(found[0], found[1])
        return _Snapshot(bot=bot, pin=pin, active=active)

    @staticmethod
    def _row(s: Session, bot_id: str, kind: ArtifactKind) -> Artifact | None:
        return s.execute(
            select(Artifact)
            .where(Artifact.bot_id == bot_id, Artifact.kind == kind.value)
            .order_by(Artifact.seq)
            .limit(1)
        ).scalar_one_or_none()

    def _single(self, account_id: str, bot_id: str, kind: ArtifactKind) -> tuple[_Snapshot, Artifact | None]:
        """The bot, its first artifact of `kind` and the storage configuration in ONE query (the
        hot path of get_audio & co.: bots by primary key, artifacts on ix_artifacts_bot_kind_seq),
        read as columns on a Core connection and turned into detached rows."""
        bid = canonical_id(bot_id)
        if bid is None:
            raise BotNotFound(NO_SUCH_BOT)
        with self._db.read_connection() as conn:
            found = conn.execute(
                _SINGLE_QUERY, {"bot_id": bid, "account_id": account_id, "kind": kind.value}
            ).first()
        if found is None:
            raise BotNotFound(NO_SUCH_BOT)
        values = tuple(found)
        bot = Bot(**dict(zip(_BOT_FIELDS, values[_BOT_SLICE], strict=True)))
        art = dict(zip(_ARTIFACT_FIELDS, values[_ARTIFACT_SLICE], strict=True))
        row = Artifact(**art) if art["id"] is not None else None
        pin = pin_of(bot)
        active = None
        if pin is not None and pin.kind is PinKind.CUSTOM:
            config = dict(zip(_CONFIG_FIELDS, values[_CONFIG_SLICE], strict=True))
            if config["account_id"] is not None:
                active = active_of(StorageConfigRow(**config), values[-1])
        return _Snapshot(bot=bot, pin=pin, active=active), row

    @staticmethod
    def _key(row: Artifact | None) -> str:
        assert row is not None  # the decision served it, so the row exists
        return row.key

    # --- the decision ---------------------------------------------------------------------------
    def _resolve(
        self,
        snap: _Snapshot,
        rows: Sequence[Artifact | None],
        kind: ArtifactKind,
        *,
        error_key: str | None,
    ) -> Store:
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
        failed: Artifact | None,
        error_key: str | None,
    ) -> Store:
        bot, pin = snap.bot, snap.pin
        label = _LABEL[kind]
        if pin is None:
            if bot.status == BotStatus.ERROR.value:
                # The bot ended without ever writing its files: nothing is coming (outcome 3).
                raise ArtifactNotFound(f"This bot ended with an error; no {label} was recorded.")
            state = ArtifactState.NOT_PINNED
        decision = decide(pin, snap.current, state)
        outcome = decision.outcome
        if outcome is Outcome.NOT_READY:
            raise MediaNotReady(
                f"The {label} of this bot is not ready yet (status {bot.status}); try again shortly.",
                status=bot.status,
            )
        if outcome is Outcome.ARTIFACT_NOT_FOUND:
            raise ArtifactNotFound(f"This bot has no {label}: it was never produced.")
        assert pin is not None
        if outcome is Outcome.UPLOAD_FAILED:
            raise self._upload_failed(bot.id, pin, failed, label)
        if outcome is Outcome.WRITE_ONLY:
            key = error_key or ""
            location = _location(pin.bucket, key)
            raise AccessRefused(
                f"The {label} of this bot is in your bucket at {location}, but your storage "
                "configuration is write_only, so meetstore may not read it or sign download URLs "
                "for it. Read it directly from your bucket, or switch to read_write: PUT "
                "/api/v1/admin/configs?config_type=storage with access_mode 'read_write' and "
                "credentials that also allow s3:GetObject; existing files become fetchable at once.",
                code="write_only_storage",
                access_mode="write_only",
                bucket=pin.bucket,
                key=key,
                location=location,
            )
        if outcome is Outcome.NOT_ACCESSIBLE:
            key = error_key or ""
            location = _location(pin.bucket, key)
            current = snap.current
            if current is None:
                why = "your storage configuration was deleted"
            elif current.bucket != pin.bucket:
                why = f"your storage configuration now points to bucket '{current.bucket}'"
            else:
                why = "your storage configuration now points to another endpoint"
            raise AccessRefused(
                f"The {label} of this bot was written to your bucket at {location}, but {why}, "
                "and meetstore keeps no credentials for a bucket that is no longer configured. "
                "The file is still in your bucket: read it from there, or configure that bucket "
                "again (read_write) to fetch it through meetstore.",
                code="storage_not_accessible",
                bucket=pin.bucket,
                key=key,
                location=location,
            )
        if outcome is Outcome.SERVE_PLATFORM:
            return self._locations.platform.store
        assert outcome is Outcome.SERVE_CUSTOM and snap.active is not None
        return self._locations.custom_store(snap.active)

    @staticmethod
    def _upload_failed(bot_id: str, pin: PinnedLocation, row: Artifact | None, label: str) -> UploadFailed:
        key = row.key if row is not None else None
        code = (row.last_error_code if row is not None else None) or "Unknown"
        operation = (row.last_error_operation if row is not None else None) or "PutObject"
        detail = (row.last_error_message if row is not None else None) or ""
        where = _location(pin.bucket, key or "")
        message = f"The upload of the {label} of this bot to {where} failed for good ({code} on {operation})."
        if detail:
            message += f" {detail}"
        message += f" After fixing it, call POST /api/v1/bots/{bot_id}/retry_uploads to upload it again."
        return UploadFailed(message, s3_error=code, operation=operation, bucket=pin.bucket, key=key)

    def _folder(self, snap: _Snapshot, kind: ArtifactKind, rows: Sequence[Artifact]) -> str | None:
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

    # --- signing and reading ----------------------------------------------------------------------
    def _expiry(self, name: str) -> _Expiry:
        ttl = self._settings.ttl_for(name)
        at = datetime.fromtimestamp(int(time.time()) + ttl, UTC)
        stamp = rfc3339(at)
        assert stamp is not None
        return _Expiry(ttl, stamp)

    @staticmethod
    def _read(store: Store, key: str, size: int) -> bytes:
        if size > INLINE_READ_CAP:
            raise PayloadTooLarge(
                f"The file is larger than {INLINE_READ_CAP // (1024 * 1024)} MB; download it "
                "through its presigned URL instead."
            )
        try:
            return store.read_bytes(key, INLINE_READ_CAP)
        except S3OperationError as exc:
            if exc.s3_error == "NoSuchKey":
                raise ArtifactNotFound(
                    f"The file is no longer at {_location(store.bucket, key)}: it was deleted from the bucket."
                ) from None
            raise
        except FileNotFoundError:
            raise ArtifactNotFound("The file is no longer in the platform store.") from None
        except ValueError:
            raise PayloadTooLarge(
                f"The file is larger than {INLINE_READ_CAP // (1024 * 1024)} MB; download it "
                "through its presigned URL instead."
            ) from None


def _exp(exp: _Expiry) -> dict[str, Any]:
    return {"expires_in": exp.expires_in, "expires_at": exp.expires_at}


def _participant_names(bot: Bot) -> dict[str, str]:
    """Participant id (`{slug}_{n}`) → display name, from what the runtime reported."""
    people = (bot.meeting_data or {}).get("participants")
    out: dict[str, str] = {}
    if isinstance(people, list):
        for p in people:
            if isinstance(p, dict) and p.get("id") is not None and p.get("name") is not None:
                out[str(p["id"])] = str(p["name"])
    return out


def _meeting_start(bot: Bot) -> datetime:
    """When recording began: as reported, else the end of the meeting minus its duration."""
    data = bot.meeting_data or {}
    for field in ("recording_started_at", "started_at"):
        value = data.get(field)
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    duration = data.get("duration_s")
    if bot.left_at is not None and isinstance(duration, int | float) and not isinstance(duration, bool):
        return bot.left_at - timedelta(seconds=float(duration))
    return bot.created_at


def _taken_at(start: datetime, offset_s: float | None) -> str | None:
    if offset_s is None:
        return None
    return rfc3339(start + timedelta(seconds=offset_s))
