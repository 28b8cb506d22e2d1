"""The hand-in: a bot left its meeting, so its files are final.

In ONE transaction, with the bot's row locked: resolve the account's storage NOW (its custom
configuration, or the platform store) and pin it on the bot with every category's effective
prefix; write the manifest; add one artifact row per file (the upload outbox); set the bot
Stopped and queue `bot.stopped`. A second hand-in of the same bot changes nothing.

Bots whose runtime went silent (its process died) are handed in by the upload worker's sweeper,
so nothing they recorded is lost.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from meetstore.config import Settings
from meetstore.domain.artifacts import (
    CATEGORY_OF,
    CONTENT_TYPE_OF,
    LIVE_STATUSES,
    MANIFEST_INPUTS,
    NEVER_ADMITTED,
    ArtifactKind,
    BotStatus,
    SpoolName,
    UploadState,
    is_accepted_file_name,
    parse_spool_name,
)
from meetstore.domain.bot_status import move_to
from meetstore.domain.clock import SystemClock, rfc3339
from meetstore.domain.erasure import effective_retention
from meetstore.domain.key_layout import object_key
from meetstore.domain.pin import PinKind
from meetstore.domain.ports import Clock, MediaProbe, Spool, SpoolFile, SpoolKeys, Stores
from meetstore.domain.records import BotRecord
from meetstore.domain.repositories import NewArtifact, Transaction, Transactions
from meetstore.domain.storage_config import CategoryPrefixes
from meetstore.services.bot_views import StorageLocation, stored_location
from meetstore.services.events import emit
from meetstore.services.runtime_bots import bot_id_of, the_bot

log = logging.getLogger("meetstore.handin")

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1
MAX_MEETING_JSON_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class HandedIn:
    """The answer of "left": where the bot's files go, and how many there are."""

    bot_id: str
    storage: StorageLocation | None
    artifacts: int


def _location_doc(bot: BotRecord) -> dict[str, Any] | None:
    """The pin as the manifest records it."""
    loc = stored_location(bot)
    return None if loc is None else asdict(loc)


def _accepted_recording(name: str) -> bool:
    return name != MANIFEST_NAME and is_accepted_file_name(name)


class HandInService:
    def __init__(
        self,
        tx: Transactions,
        spool: Spool,
        keys: SpoolKeys,
        stores: Stores,
        media: MediaProbe,
        settings: Settings,
        clock: Clock | None = None,
    ) -> None:
        self._tx = tx
        self._spool = spool
        self._keys = keys
        self._stores = stores
        self._media = media
        self._settings = settings
        self._clock: Clock = clock or SystemClock()

    def left(self, bot_id: str) -> HandedIn:
        """The bot left; its files are complete. Pin, manifest, artifact rows, status Stopped and
        bot.stopped in one transaction; a second call changes nothing and answers the same."""
        bot_id = bot_id_of(bot_id)
        with self._tx.read() as tx:
            found = the_bot(tx, bot_id)
            hands_in = found.pin_kind is None and found.deletion_requested_at is None
            hands_in = hands_in and BotStatus(found.status) not in NEVER_ADMITTED
        # Made (when the bot sent no file) before the row is locked: on SQLite a second writer
        # inside this transaction would wait for it. Never for a bot that will not be handed in
        # (an erased bot's key stays destroyed).
        key = self._keys.data_key(found.account_id, bot_id, create=True) if hands_in else b""
        with self._tx.write() as tx:
            bot = the_bot(tx, bot_id, lock=True)
            if bot.pin_kind is not None or bot.deletion_requested_at is not None:
                return self._result(tx, bot)
            if BotStatus(bot.status) in NEVER_ADMITTED:
                return self._result(tx, bot)  # it recorded nothing: there is nothing to hand in
            ended = BotStatus(bot.status)
            now = self._clock.now()
            prefixes = self._pin(tx, bot, now)
            self._pin_retention(tx, bot, now)
            files = self._spool.files(bot.id, _accepted_recording, key)
            meeting = self._meeting_data(bot, files, key)
            rows: list[NewArtifact] = []
            entries: list[dict[str, Any]] = []
            for f in sorted(files.values(), key=lambda f: f.name):
                parsed = parse_spool_name(f.name)
                if parsed is None:
                    continue
                row = self._artifact(bot, parsed, f, prefixes, meeting, now)
                rows.append(row)
                entries.append(_manifest_entry(row, f.name))
            manifest = self._manifest(bot, now, entries, meeting)
            raw = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
            mf = self._spool.write_small(bot.id, MANIFEST_NAME, raw, key)
            rows.append(self._artifact(bot, SpoolName(ArtifactKind.MANIFEST), mf, prefixes, meeting, now))
            tx.artifacts.add(rows)
            bot.meeting_data = meeting
            move_to(bot, BotStatus.STOPPED, now)
            bot.left_at = now
            emit(
                tx,
                bot,
                "bot.stopped",
                message=f"The bot left the meeting; {len(rows)} files are queued for upload.",
                now=now,
                # The SDK's describe_stop reads why the bot stopped from bot_status: a failed
                # runtime's bot says Error although its files are now handed in like any other's.
                extra={"bot_status": ended.value} if ended is BotStatus.ERROR else None,
            )
            tx.flush()
            return self._result(tx, bot)

    @staticmethod
    def _result(tx: Transaction, bot: BotRecord) -> HandedIn:
        return HandedIn(bot.id, stored_location(bot), tx.artifacts.count_of_bot(bot.id))

    def _manifest(
        self, bot: BotRecord, now: datetime, entries: list[dict[str, Any]], meeting: dict[str, Any]
    ) -> dict[str, Any]:
        return {
            "version": MANIFEST_VERSION,
            "bot_id": bot.id,
            "transcript_id": bot.transcript_id,
            "transcript_provider": bot.transcript_provider,
            "meeting_url": bot.meeting_link,
            "bot_name": bot.bot_name,
            "created_at": rfc3339(bot.created_at),
            "left_at": rfc3339(now),
            "storage": _location_doc(bot),
            "artifacts": entries,
            "participants": meeting.get("participants", []),
            "speaker_timeline": meeting.get("speaker_timeline", []),
            "video_info": meeting.get("video_info"),
            "pauses": meeting.get("pauses", []),
            "events": meeting.get("events", []),
        }

    def _pin(self, tx: Transaction, bot: BotRecord, now: datetime) -> CategoryPrefixes:
        """Resolve the account's storage NOW and record it on the bot; never changed afterwards."""
        row = tx.storage_configs.get(bot.account_id)
        if row is not None:
            prefixes = CategoryPrefixes(
                audio=row.prefix_audio,
                video=row.prefix_video,
                transcript=row.prefix_transcript,
                metadata=row.prefix_metadata,
            )
            bot.pin_kind = PinKind.CUSTOM.value
            bot.pin_bucket = row.bucket_name
            bot.pin_region = row.region
            bot.pin_endpoint_url = row.endpoint_url
            bot.pin_config_version = row.version
        else:
            p = self._stores.platform_prefix(bot.account_id)
            prefixes = CategoryPrefixes(audio=p, video=p, transcript=p, metadata=p)
            bot.pin_kind = PinKind.PLATFORM.value
            bot.pin_bucket = self._stores.platform.bucket
            bot.pin_region = self._stores.platform_region
            bot.pin_endpoint_url = self._stores.platform_endpoint_url
            bot.pin_config_version = None
        bot.pin_prefixes = prefixes.as_dict()
        bot.pinned_at = now
        return prefixes

    def _pin_retention(self, tx: Transaction, bot: BotRecord, now: datetime) -> None:
        """The effective retention, fixed now like the location: counted from hand-in."""
        requested = ((bot.options or {}).get("recording_config") or {}).get("retention")
        account = tx.accounts.get(bot.account_id)
        policy = effective_retention(
            requested, account.retention if account is not None else None, self._settings.default_retention_hours
        )
        bot.retention_hours = policy.hours
        bot.retention_expires_at = policy.expires_at(now)

    def _meeting_data(self, bot: BotRecord, files: dict[str, SpoolFile], key: bytes) -> dict[str, Any]:
        """meeting_data with participants and speaker timeline from the runtime's files, if any."""
        data = dict(bot.meeting_data or {})
        for name, field in zip(MANIFEST_INPUTS, ("participants", "speaker_timeline"), strict=True):
            if name not in files:
                data.setdefault(field, [])
                continue
            value: Any = None
            raw = self._spool.read_small(bot.id, name, MAX_MEETING_JSON_BYTES, key)
            if raw is not None:
                try:
                    value = json.loads(raw)
                except ValueError:
                    value = None
            if isinstance(value, list):
                data[field] = value
            else:
                log.warning("bot %s: %s is not a JSON array; ignored", bot.id, name)
                data.setdefault(field, [])
        if "video_info" not in data:
            data["video_info"] = None
            if "video.mp4" in files:
                with self._spool.open(bot.id, "video.mp4", key) as video:
                    data["video_info"] = self._media.video_info(video)
        return data

    @staticmethod
    def _artifact(
        bot: BotRecord,
        parsed: SpoolName,
        f: SpoolFile,
        prefixes: CategoryPrefixes,
        meeting: dict[str, Any],
        now: datetime,
    ) -> NewArtifact:
        kind = parsed.kind
        taken_at: float | None = None
        if kind is ArtifactKind.SCREENSHOT:
            times = meeting.get("screenshots_taken_at") or {}
            value = times.get(f.name) if isinstance(times, dict) else None
            taken_at = float(value) if isinstance(value, int | float) else None
        return NewArtifact(
            bot_id=bot.id,
            account_id=bot.account_id,
            kind=kind.value,
            category=CATEGORY_OF[kind].value,
            seq=parsed.seq,
            participant=parsed.participant,
            spool_name=f.name,
            key=object_key(
                kind,
                prefixes,
                bot.id,
                seq=parsed.seq,
                participant=parsed.participant,
                provider=bot.transcript_provider,
                transcript_id=bot.transcript_id,
            ),
            content_type=CONTENT_TYPE_OF[kind],
            size=f.size,
            sha256=f.sha256,
            state=UploadState.PENDING.value,
            taken_at_s=taken_at,
            now=now,
        )

    # --- bots whose runtime died ------------------------------------------------------------------
    def sweep_stale_runtimes(self, skip: Collection[str] = (), limit: int = 100) -> list[str]:
        """Hand in live bots whose runtime went silent (`runtime_stale_after_s`): a runtime that
        died with its process leaves them Joining/InMeeting/Recording/Leaving (or Error) forever.

        Each is marked Error (its runtime failed) and then goes through `left` with the files
        already complete in its spool, so they are pinned and uploaded and nothing is lost.
        `skip`: bots whose runtime runs in this process. Returns the ids handed in.
        """
        cutoff = self._clock.now() - timedelta(seconds=self._settings.runtime_stale_after_s)
        # A Scheduled bot has no runtime yet: nothing of it can have died.
        stuck = [*(st.value for st in LIVE_STATUSES if st is not BotStatus.SCHEDULED), BotStatus.ERROR.value]
        with self._tx.read() as tx:
            ids = tx.bots.stale_live(stuck, cutoff, limit)
        skipped = set(skip)
        return [bot_id for bot_id in ids if bot_id not in skipped and self._hand_in_stale(bot_id, cutoff)]

    def _hand_in_stale(self, bot_id: str, cutoff: datetime) -> bool:
        with self._tx.write() as tx:
            bot = the_bot(tx, bot_id, lock=True)
            seen = bot.runtime_seen_at or bot.updated_at
            if bot.pin_kind is not None or seen >= cutoff:
                return False  # handed in meanwhile, or its runtime spoke up again
            previous = bot.status
            if bot.status != BotStatus.ERROR.value:
                # Recorded on its own first: should "left" fail, the bot still says its runtime died.
                move_to(bot, BotStatus.ERROR, self._clock.now())
                data = dict(bot.meeting_data or {})
                data["runtime_lost"] = {"status": previous, "last_seen_at": rfc3339(seen)}
                bot.meeting_data = data
        log.warning(
            "bot %s: its runtime has not been seen since %s (status %s); handing in its spool",
            bot_id,
            rfc3339(seen),
            previous,
        )
        self.left(bot_id)
        return True


def _manifest_entry(row: NewArtifact, name: str) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "kind": row.kind,
        "name": name,
        "key": row.key,
        "size": row.size,
        "sha256": row.sha256,
        "content_type": row.content_type,
    }
    if row.participant:
        entry["participant"] = row.participant
    if row.taken_at_s is not None:
        entry["taken_at_s"] = row.taken_at_s
    return entry
