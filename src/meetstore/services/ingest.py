"""The runtime side: spool files, status changes, and "left" → pin + manifest + artifact rows.

Spool layout, per bot (`{settings.spool_dir}/{bot_id}/`):
- `{name}`: a complete recorded file (names of `domain.artifacts.parse_spool_name`, plus
  `participants.json` and `speaker_timeline.json`), and `manifest.json` written at "left";
- `.incoming/{random}.part`: a file being received; renamed to `{name}` only once complete and
  fsynced, so a partial upload is never taken for a file;
- `.meta/{name}.json`: size and SHA-256 computed while the file streamed in (with the file's
  inode and mtime, so a stale record is recognised and the hash recomputed).

Every file is streamed through a fixed-size buffer; nothing holds a whole file in memory.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from meetstore.adapters.db.engine import Database
from meetstore.adapters.db.tables import Artifact, Bot, StorageConfigRow
from meetstore.adapters.platform_store.factory import PlatformStore
from meetstore.config import Settings
from meetstore.domain.artifacts import (
    CATEGORY_OF,
    CONTENT_TYPE_OF,
    LIVE_STATUSES,
    ArtifactKind,
    BotStatus,
    SpoolName,
    UploadState,
    is_accepted_file_name,
    parse_spool_name,
)
from meetstore.domain.clock import SystemClock, rfc3339
from meetstore.domain.fetch_policy import PinKind
from meetstore.domain.ids import canonical_id
from meetstore.domain.key_layout import object_key
from meetstore.domain.storage_config import Category, CategoryPrefixes
from meetstore.errors import BotNotFound, Conflict, InsufficientStorage, InvalidRequest
from meetstore.services.events import emit
from meetstore.services.storage_config import StorageConfigService

log = logging.getLogger("meetstore.ingest")

CHUNK_BYTES = 1024 * 1024
MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1
MAX_MEETING_JSON_BYTES = 16 * 1024 * 1024
INCOMING_DIR = ".incoming"
META_DIR = ".meta"

_STATUS_ORDER = {
    BotStatus.JOINING: 0,
    BotStatus.IN_MEETING: 1,
    BotStatus.RECORDING: 2,
    BotStatus.LEAVING: 3,
}
_STATUS_EVENT = {
    BotStatus.IN_MEETING: ("bot.inmeeting", "The bot joined the meeting."),
    BotStatus.RECORDING: ("bot.recording", "The bot started recording."),
}


def _disk_error(exc: OSError) -> Exception:
    # EFBIG: a file-size limit (quota, RLIMIT_FSIZE) stops the write just as a full disk does.
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return InsufficientStorage("The spool is out of disk space; try again later.")
    return exc


def write_all(fd: int, data: bytes | bytearray | memoryview) -> int:
    """Write every byte of `data` to `fd`; a full disk becomes InsufficientStorage."""
    view = memoryview(data)
    written = 0
    try:
        while written < len(view):
            written += os.write(fd, view[written:])
    except OSError as exc:
        raise _disk_error(exc) from exc
    return written


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _sha256_of(path: Path) -> tuple[int, str]:
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK_BYTES):
            h.update(chunk)
            size += len(chunk)
    return size, h.hexdigest()


@dataclass(frozen=True)
class SavedFile:
    bot_id: str
    name: str
    size: int
    sha256: str
    replaced: bool

    def as_dict(self) -> dict[str, Any]:
        return {"bot_id": self.bot_id, "name": self.name, "size": self.size, "sha256": self.sha256}


@dataclass(frozen=True)
class RuntimeInfo:
    """What a runtime needs to know about its bot."""

    bot_id: str
    status: str
    options: dict[str, Any]


class SpoolWriter:
    """One file being received: a temp file, hashed as it is written; complete only at `finish`."""

    def __init__(self, bot_id: str, name: str, bot_dir: Path) -> None:
        self.bot_id = bot_id
        self.name = name
        self.bot_dir = bot_dir
        incoming = bot_dir / INCOMING_DIR
        try:
            incoming.mkdir(parents=True, exist_ok=True)
            self.tmp = incoming / f"{secrets.token_hex(12)}.part"
            self._fd: int | None = os.open(self.tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:
            raise _disk_error(exc) from exc
        self._hash = hashlib.sha256()
        self.size = 0
        self.sha256 = ""
        self.stat: os.stat_result | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._fd is None:
            raise RuntimeError("writer is closed")
        self._hash.update(data)
        self.size += write_all(self._fd, data)

    def finish(self) -> None:
        """Flush the file to disk (fsync) and close it; the data is then durable."""
        if self._fd is None:
            raise RuntimeError("writer is closed")
        fd, self._fd = self._fd, None
        try:
            os.fsync(fd)
            self.stat = os.fstat(fd)
        except OSError as exc:
            os.close(fd)
            raise _disk_error(exc) from exc
        os.close(fd)
        self.sha256 = self._hash.hexdigest()

    def abort(self) -> None:
        """Drop the partial file."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)
        self.tmp.unlink(missing_ok=True)


@dataclass(frozen=True)
class _SpoolFile:
    name: str
    path: Path
    size: int
    sha256: str


def location_view(bot: Bot) -> dict[str, Any] | None:
    """Where a bot's files were written (its pin), or None before it left."""
    if bot.pin_kind is None:
        return None
    return {
        "kind": bot.pin_kind,
        "bucket": bot.pin_bucket,
        "region": bot.pin_region,
        "endpoint_url": bot.pin_endpoint_url,
        "prefixes": dict(bot.pin_prefixes or {}),
    }


class IngestService:
    def __init__(
        self,
        db: Database,
        settings: Settings,
        storage: StorageConfigService,
        platform: PlatformStore,
        clock: SystemClock | None = None,
    ) -> None:
        self._db = db
        self._settings = settings
        self._storage = storage
        self._platform = platform
        self._clock = clock or SystemClock()
        self._seen_lock = threading.Lock()
        self._seen: dict[str, float] = {}
        """bot id → when this process last recorded its runtime as seen (monotonic seconds)."""

    # --- helpers ----------------------------------------------------------------------------------
    def bot_dir(self, bot_id: str) -> Path:
        return self._settings.spool_dir / bot_id

    @staticmethod
    def _bot_id(raw: str) -> str:
        bot_id = canonical_id(raw)
        if bot_id is None:
            raise BotNotFound("No bot with this id exists.")
        return bot_id

    def _bot(self, s: Session, bot_id: str, *, lock: bool = False) -> Bot:
        bot = s.get(Bot, bot_id, with_for_update=lock)
        if bot is None:
            raise BotNotFound("No bot with this id exists.")
        return bot

    @staticmethod
    def _refuse_if_left(bot: Bot) -> None:
        if bot.pin_kind is not None:
            raise Conflict(
                f"The bot has left its meeting (status {bot.status}); its files are final.",
                status=bot.status,
            )

    # --- runtime queries ----------------------------------------------------------------------
    def runtime_info(self, bot_id: str) -> RuntimeInfo:
        bot_id = self._bot_id(bot_id)
        with self._db.session() as s:
            bot = self._bot(s, bot_id)
            return RuntimeInfo(bot.id, bot.status, dict(bot.options or {}))

    def status_of(self, bot_id: str) -> str:
        bot_id = self._bot_id(bot_id)
        with self._db.session() as s:
            return self._bot(s, bot_id).status

    # --- status ---------------------------------------------------------------------------------
    def set_status(self, bot_id: str, status: BotStatus | str) -> str:
        """Move a live bot forward (never back); emits bot.inmeeting / bot.recording.

        `Stopped` is "left" (pin and enqueue). Setting the current status again changes nothing.
        """
        bot_id = self._bot_id(bot_id)
        new = BotStatus(status)
        if new is BotStatus.STOPPED:
            self.left(bot_id)
            return self.status_of(bot_id)
        if new in (BotStatus.JOINING, BotStatus.DONE):
            raise InvalidRequest(
                f"A runtime cannot set the status {new.value}.",
                [{"field": "status", "message": "must be InMeeting, Recording, Leaving, Stopped or Error"}],
            )
        with self._db.session() as s:
            bot = self._bot(s, bot_id, lock=True)
            self._refuse_if_left(bot)
            current = BotStatus(bot.status)
            if new is current:
                return current.value
            if new is BotStatus.ERROR:
                bot.status = new.value
                bot.updated_at = self._clock.now()
                return new.value
            if current not in LIVE_STATUSES or _STATUS_ORDER[new] < _STATUS_ORDER[current]:
                raise Conflict(
                    f"The bot is {current.value}; it cannot move to {new.value}.", status=current.value
                )
            now = self._clock.now()
            bot.status = new.value
            bot.updated_at = now
            if new in _STATUS_EVENT:
                event, message = _STATUS_EVENT[new]
                emit(s, bot, event, message=message, now=now)
            return new.value

    def set_meeting_data(self, bot_id: str, data: dict[str, Any]) -> None:
        """Merge what the runtime knows about the meeting (video_info, participants, ...)."""
        bot_id = self._bot_id(bot_id)
        with self._db.session() as s:
            bot = self._bot(s, bot_id, lock=True)
            self._refuse_if_left(bot)
            merged = dict(bot.meeting_data or {})
            merged.update(data)
            bot.meeting_data = merged
            bot.updated_at = self._clock.now()

    # --- files ----------------------------------------------------------------------------------
    def begin_file(self, bot_id: str, name: str) -> SpoolWriter:
        """Start receiving `name` for a bot that has not left: 400 for a name we do not take."""
        bot_id = self._bot_id(bot_id)
        if not is_accepted_file_name(name):
            raise InvalidRequest(
                f"{name!r} is not a file name a bot runtime may hand in.",
                [
                    {
                        "field": "name",
                        "message": "one of audio.mp3, video.mp4, chat.json, screenshots/NNNNN.png, "
                        "audio_streams/{slug}_{n}.webm, transcript/raw.json, transcript/processed.json, "
                        "participants.json, speaker_timeline.json",
                    }
                ],
            )
        with self._db.session() as s:
            self._refuse_if_left(self._bot(s, bot_id))
        return SpoolWriter(bot_id, name, self.bot_dir(bot_id))

    def finish_file(self, writer: SpoolWriter) -> SavedFile:
        """Make a fully received file part of the bot's spool, unless the bot left meanwhile.

        The rename happens with the bot row locked, so "left" (which lists the spool with the same
        lock held) sees the file either complete or not at all.
        """
        try:
            writer.finish()
            final = writer.bot_dir / writer.name
            meta = writer.bot_dir / META_DIR / f"{writer.name}.json"
            with self._db.session() as s:
                self._refuse_if_left(self._bot(s, writer.bot_id, lock=True))
                replaced = final.exists()
                try:
                    final.parent.mkdir(parents=True, exist_ok=True)
                    meta.parent.mkdir(parents=True, exist_ok=True)
                    assert writer.stat is not None
                    record = {
                        "size": writer.size,
                        "sha256": writer.sha256,
                        "ino": writer.stat.st_ino,
                        "mtime_ns": writer.stat.st_mtime_ns,
                    }
                    self._write_small(meta, json.dumps(record).encode())
                    os.replace(writer.tmp, final)
                    _fsync_dir(final.parent)
                except OSError as exc:
                    raise _disk_error(exc) from exc
        except BaseException:
            writer.abort()
            raise
        return SavedFile(writer.bot_id, writer.name, writer.size, writer.sha256, replaced)

    def save_file(self, bot_id: str, name: str, stream: IO[bytes] | Iterable[bytes]) -> SavedFile:
        """Receive one file from a binary stream or an iterable of chunks (the runtimes' path)."""
        writer = self.begin_file(bot_id, name)
        try:
            if hasattr(stream, "read"):
                reader: IO[bytes] = stream  # type: ignore[assignment]
                while chunk := reader.read(CHUNK_BYTES):
                    writer.write(chunk)
            else:
                for chunk in stream:
                    writer.write(chunk)
        except BaseException:
            writer.abort()
            raise
        return self.finish_file(writer)

    @staticmethod
    def _write_small(path: Path, data: bytes) -> None:
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            write_all(fd, data)
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        os.close(fd)
        os.replace(tmp, path)

    # --- runtime liveness ----------------------------------------------------------------------
    def touch_runtime(self, bot_ids: Collection[str]) -> int:
        """Record that the runtime of these bots is alive (the simulator's heartbeat)."""
        ids = [self._bot_id(b) for b in bot_ids]
        if not ids:
            return 0
        now = self._clock.now()
        with self._db.session() as s:
            result = s.execute(
                update(Bot)
                .where(Bot.id.in_(ids), Bot.pin_kind.is_(None))
                .values(runtime_seen_at=now)
                .execution_options(synchronize_session=False)
            )
            changed = int(getattr(result, "rowcount", 0) or 0)
        mono = time.monotonic()
        with self._seen_lock:
            for b in ids:
                self._seen[b] = mono
        return changed

    def runtime_seen(self, bot_id: str) -> None:
        """An ingest API call from the bot's runtime: it is alive (recorded at most every
        `runtime_heartbeat_s / 2` per bot and process, so polling runtimes cost no write each)."""
        bot_id = self._bot_id(bot_id)
        mono = time.monotonic()
        with self._seen_lock:
            last = self._seen.get(bot_id)
            if last is not None and mono - last < self._settings.runtime_heartbeat_s / 2:
                return
            if len(self._seen) > 10_000:
                self._seen.clear()
            self._seen[bot_id] = mono
        self.touch_runtime([bot_id])

    def sweep_stale_runtimes(self, skip: Collection[str] = (), limit: int = 100) -> list[str]:
        """Hand in live bots whose runtime went silent (`runtime_stale_after_s`): a runtime that
        died with its process leaves them Joining/InMeeting/Recording/Leaving (or Error) forever.

        Each is marked Error (its runtime failed) and then goes through `left` with the files
        already complete in its spool, so they are pinned and uploaded and nothing is lost.
        `skip`: bots whose runtime runs in this process. Returns the ids handed in.
        """
        now = self._clock.now()
        cutoff = now - timedelta(seconds=self._settings.runtime_stale_after_s)
        stuck = [*(st.value for st in LIVE_STATUSES), BotStatus.ERROR.value]
        with self._db.session() as s:
            ids = list(
                s.scalars(
                    select(Bot.id)
                    .where(
                        Bot.status.in_(stuck),
                        Bot.pin_kind.is_(None),
                        or_(
                            Bot.runtime_seen_at < cutoff,
                            and_(Bot.runtime_seen_at.is_(None), Bot.updated_at < cutoff),
                        ),
                    )
                    .order_by(Bot.updated_at)
                    .limit(limit)
                )
            )
        handed: list[str] = []
        skipped = set(skip)
        for bot_id in ids:
            if bot_id in skipped:
                continue
            if self._hand_in_stale(bot_id, cutoff):
                handed.append(bot_id)
        return handed

    def _hand_in_stale(self, bot_id: str, cutoff: datetime) -> bool:
        with self._db.session() as s:
            bot = self._bot(s, bot_id, lock=True)
            seen = bot.runtime_seen_at or bot.updated_at
            if bot.pin_kind is not None or seen >= cutoff:
                return False  # handed in meanwhile, or its runtime spoke up again
            previous = bot.status
            if bot.status != BotStatus.ERROR.value:
                # Recorded on its own first: should "left" fail, the bot still says its runtime died.
                bot.status = BotStatus.ERROR.value
                bot.updated_at = self._clock.now()
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

    # --- left -------------------------------------------------------------------------------------
    def left(self, bot_id: str) -> dict[str, Any]:
        """The bot left; its files are complete. In ONE transaction: pin, manifest, artifact rows,
        status Stopped, bot.stopped. A second call changes nothing and answers the same."""
        bot_id = self._bot_id(bot_id)
        with self._db.session() as s:
            bot = self._bot(s, bot_id, lock=True)
            if bot.pin_kind is not None:
                return self._left_result(s, bot)
            with self._seen_lock:
                self._seen.pop(bot.id, None)
            now = self._clock.now()
            prefixes = self._pin(s, bot, now)
            files = self._scan_spool(bot.id)
            meeting = self._meeting_data(bot, files)
            rows: list[Artifact] = []
            entries: list[dict[str, Any]] = []
            for f in sorted(files.values(), key=lambda f: f.name):
                parsed = parse_spool_name(f.name)
                if parsed is None:
                    continue
                row = self._artifact(bot, parsed, f, prefixes, meeting, now)
                rows.append(row)
                entry: dict[str, Any] = {
                    "kind": row.kind,
                    "name": f.name,
                    "key": row.key,
                    "size": row.size,
                    "sha256": row.sha256,
                    "content_type": row.content_type,
                }
                if row.participant:
                    entry["participant"] = row.participant
                if row.taken_at_s is not None:
                    entry["taken_at_s"] = row.taken_at_s
                entries.append(entry)
            manifest = {
                "version": MANIFEST_VERSION,
                "bot_id": bot.id,
                "transcript_id": bot.transcript_id,
                "transcript_provider": bot.transcript_provider,
                "meeting_url": bot.meeting_link,
                "bot_name": bot.bot_name,
                "created_at": rfc3339(bot.created_at),
                "left_at": rfc3339(now),
                "storage": location_view(bot),
                "artifacts": entries,
                "participants": meeting.get("participants", []),
                "speaker_timeline": meeting.get("speaker_timeline", []),
                "video_info": meeting.get("video_info"),
            }
            raw = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode("utf-8")
            manifest_path = self.bot_dir(bot.id) / MANIFEST_NAME
            try:
                manifest_path.parent.mkdir(parents=True, exist_ok=True)
                self._write_small(manifest_path, raw)
            except OSError as exc:
                raise _disk_error(exc) from exc
            mf = _SpoolFile(MANIFEST_NAME, manifest_path, len(raw), hashlib.sha256(raw).hexdigest())
            rows.append(self._artifact(bot, SpoolName(ArtifactKind.MANIFEST), mf, prefixes, meeting, now))
            s.add_all(rows)
            bot.meeting_data = meeting
            bot.status = BotStatus.STOPPED.value
            bot.left_at = now
            bot.updated_at = now
            emit(
                s,
                bot,
                "bot.stopped",
                message=f"The bot left the meeting; {len(rows)} files are queued for upload.",
                now=now,
            )
            s.flush()
            return self._left_result(s, bot)

    def _left_result(self, s: Session, bot: Bot) -> dict[str, Any]:
        count = s.execute(
            select(func.count()).select_from(Artifact).where(Artifact.bot_id == bot.id)
        ).scalar_one()
        return {"bot_id": bot.id, "storage": location_view(bot), "artifacts": int(count)}

    def _pin(self, s: Session, bot: Bot, now: datetime) -> CategoryPrefixes:
        """Resolve the account's storage NOW and record it on the bot; never changed afterwards."""
        row = s.get(StorageConfigRow, bot.account_id)
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
            p = self._platform.account_prefix(bot.account_id)
            prefixes = CategoryPrefixes(audio=p, video=p, transcript=p, metadata=p)
            bot.pin_kind = PinKind.PLATFORM.value
            bot.pin_bucket = self._platform.bucket
            bot.pin_region = self._platform.region
            bot.pin_endpoint_url = self._platform.endpoint_url
            bot.pin_config_version = None
        bot.pin_prefixes = prefixes.as_dict()
        bot.pinned_at = now
        return prefixes

    def _scan_spool(self, bot_id: str) -> dict[str, _SpoolFile]:
        """Every complete file in the bot's spool (not the temp files, not our own manifest)."""
        root = self.bot_dir(bot_id)
        out: dict[str, _SpoolFile] = {}
        if not root.is_dir():
            return out
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for filename in filenames:
                path = Path(dirpath) / filename
                name = path.relative_to(root).as_posix()
                if name == MANIFEST_NAME or not is_accepted_file_name(name):
                    continue
                size, sha = self._known_hash(root, name, path)
                out[name] = _SpoolFile(name, path, size, sha)
        return out

    @staticmethod
    def _known_hash(root: Path, name: str, path: Path) -> tuple[int, str]:
        """Size and SHA-256 recorded while the file streamed in; recomputed when that record is stale."""
        st = path.stat()
        try:
            record = json.loads((root / META_DIR / f"{name}.json").read_text())
            if (
                record["size"] == st.st_size
                and record["ino"] == st.st_ino
                and record["mtime_ns"] == st.st_mtime_ns
            ):
                return int(record["size"]), str(record["sha256"])
        except (OSError, ValueError, KeyError, TypeError):
            pass
        return _sha256_of(path)

    def _meeting_data(self, bot: Bot, files: dict[str, _SpoolFile]) -> dict[str, Any]:
        """meeting_data with participants and speaker timeline from the runtime's files, if any."""
        data = dict(bot.meeting_data or {})
        for name, field in (
            ("participants.json", "participants"),
            ("speaker_timeline.json", "speaker_timeline"),
        ):
            f = files.get(name)
            if f is None:
                data.setdefault(field, [])
                continue
            value: Any = None
            if f.size <= MAX_MEETING_JSON_BYTES:
                try:
                    value = json.loads(f.path.read_bytes())
                except (OSError, ValueError):
                    value = None
            if isinstance(value, list):
                data[field] = value
            else:
                log.warning("bot %s: %s is not a JSON array; ignored", bot.id, name)
                data.setdefault(field, [])
        if "video_info" not in data:
            video = files.get("video.mp4")
            data["video_info"] = probe_video_info(video.path) if video is not None else None
        return data

    def _artifact(
        self,
        bot: Bot,
        parsed: SpoolName,
        f: _SpoolFile,
        prefixes: CategoryPrefixes,
        meeting: dict[str, Any],
        now: datetime,
    ) -> Artifact:
        kind = parsed.kind
        taken_at: float | None = None
        if kind is ArtifactKind.SCREENSHOT:
            times = meeting.get("screenshots_taken_at") or {}
            value = times.get(f.name) if isinstance(times, dict) else None
            taken_at = float(value) if isinstance(value, int | float) else None
        category: Category = CATEGORY_OF[kind]
        return Artifact(
            bot_id=bot.id,
            account_id=bot.account_id,
            kind=kind.value,
            category=category.value,
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
            attempts=0,
            next_attempt_at=now,
            taken_at_s=taken_at,
            created_at=now,
        )


def probe_video_info(path: Path) -> dict[str, Any] | None:
    """video_info of a runtime's video.mp4 read from its container (best effort)."""
    try:
        import av

        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            fps = float(stream.average_rate) if stream.average_rate else 0.0
            duration = container.duration / 1_000_000 if container.duration else 0.0
            frames = int(stream.frames or round(duration * fps))
            return {
                "duration": round(duration, 3),
                "size_mb": round(path.stat().st_size / (1024 * 1024), 3),
                "resolution": f"{stream.width}x{stream.height}",
                "fps": round(fps) if fps else 0,
                "frames_processed": frames,
                "corrupted_frames": 0,
            }
    except Exception:
        log.warning("could not read video_info from %s", path.name)
        return None
