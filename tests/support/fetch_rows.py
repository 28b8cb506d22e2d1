"""Seed a bot's rows directly (pin + artifact outbox rows) and put its objects where they belong.

The fetch side is tested on its own with this: it writes exactly what "left" + the upload worker
leave behind (a pinned Bot, one Artifact row per file with its key from key_layout, the object bytes
in the moto bucket or the local platform store), without running a bot.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from meetstore.adapters.db.tables import Artifact, Bot, StorageConfigRow
from meetstore.container import Container
from meetstore.domain.artifacts import CATEGORY_OF, CONTENT_TYPE_OF, ArtifactKind, SpoolName, parse_spool_name
from meetstore.domain.key_layout import object_key
from meetstore.domain.storage_config import CategoryPrefixes
from meetstore.domain.storage_target import ACCESS_KEY_PURPOSE, SECRET_KEY_PURPOSE
from meetstore.services.storage_views import StorageConfigView

Writer = Callable[[str, bytes, str], None]
"""Puts one object: (key, data, content_type)."""

PARTICIPANTS = [
    {"name": "Alice Example", "id": "alice-example_1", "joined_at_s": 0.0, "left_at_s": 2.0},
    {"name": "Bob Example", "id": "bob-example_2", "joined_at_s": 0.0, "left_at_s": 2.0},
]
TIMELINE = [
    {"speaker": "Alice Example", "start": 0.0, "end": 0.9},
    {"speaker": "Bob Example", "start": 1.0, "end": 1.8},
]
SEGMENTS = [
    {"speaker": "Alice Example", "transcript": "we ship next week", "start": 0.0, "end": 0.9},
    {"speaker": "Bob Example", "transcript": "good plan", "start": 1.0, "end": 1.8},
]
VIDEO_INFO = {
    "duration": 2.0,
    "size_mb": 0.01,
    "resolution": "640x360",
    "fps": 15,
    "frames_processed": 30,
    "corrupted_frames": 0,
}


def media_files(*, video: bool = True, streams: bool = True, screenshots: int = 3) -> dict[str, bytes]:
    """A recording's files by spool name (random media bytes, real JSON documents)."""
    files: dict[str, bytes] = {
        "audio.mp3": b"ID3" + os.urandom(3000),
        "chat.json": json.dumps([{"sender": "Alice Example", "message": "hi", "time_s": 0.5}]).encode(),
        "transcript/raw.json": json.dumps(
            {"provider": "meetstream", "words": [{"word": "we", "start": 0.0, "end": 0.2}]}
        ).encode(),
        "transcript/processed.json": json.dumps(SEGMENTS, indent=2).encode(),
    }
    if video:
        files["video.mp4"] = b"\x00\x00\x00\x18ftypmp42" + os.urandom(20000)
        for n in range(1, screenshots + 1):
            files[f"screenshots/{n:05d}.png"] = b"\x89PNG\r\n\x1a\n" + os.urandom(500 + n)
    if streams:
        files["audio_streams/alice-example_1.webm"] = b"\x1aE\xdf\xa3" + os.urandom(1500)
        files["audio_streams/bob-example_2.webm"] = b"\x1aE\xdf\xa3" + os.urandom(1700)
    return files


@dataclass
class SeededBot:
    bot_id: str
    transcript_id: str
    provider: str
    keys: dict[str, str] = field(default_factory=dict)
    """spool name (and "manifest.json") → object key."""
    data: dict[str, bytes] = field(default_factory=dict)
    """object key → bytes written (only for uploaded files)."""

    def key(self, name: str) -> str:
        return self.keys[name]


def _spool(name: str) -> SpoolName:
    if name == "manifest.json":
        return SpoolName(ArtifactKind.MANIFEST)
    parsed = parse_spool_name(name)
    assert parsed is not None, name
    return parsed


def seed_bot(
    container: Container,
    account_id: str,
    *,
    pin: str | None,
    prefixes: CategoryPrefixes | None = None,
    bucket: str | None = None,
    region: str = "us-east-1",
    endpoint_url: str | None = None,
    config_version: int | None = None,
    status: str = "Done",
    files: dict[str, bytes] | None = None,
    states: dict[str, str] | None = None,
    errors: dict[str, tuple[str, str, str]] | None = None,
    meeting_data: dict[str, Any] | None = None,
    write: Writer | None = None,
    with_manifest: bool = True,
    provider: str = "meetstream",
) -> SeededBot:
    """Insert a bot (pinned to `pin`: 'platform', 'custom' or None) and its artifact rows.

    Objects of uploaded artifacts are written with `write` (default: the platform store for a
    platform pin). `states` maps spool names to 'pending'/'failed' (default 'uploaded');
    `errors` maps failed ones to (last_error_code, last_error_operation, last_error_message).
    """
    bot_id = str(uuid.uuid4())
    transcript_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    files = dict(media_files() if files is None else files)
    states = states or {}
    errors = errors or {}
    seeded = SeededBot(bot_id, transcript_id, provider)
    if meeting_data is None:
        meeting_data = {"participants": PARTICIPANTS, "speaker_timeline": TIMELINE}
        if "video.mp4" in files:
            meeting_data["video_info"] = VIDEO_INFO
    if pin == "platform":
        platform = container.platform
        prefixes = prefixes or CategoryPrefixes(*(platform.account_prefix(account_id),) * 4)
        bucket = platform.bucket
        region = platform.region
        endpoint_url = platform.endpoint_url
        if write is None:

            def write(key: str, data: bytes, content_type: str) -> None:
                container.platform.store.put_bytes(key, data, content_type=content_type)

    rows: list[dict[str, Any]] = []
    if pin is not None:
        assert prefixes is not None and bucket is not None
        entries: list[dict[str, Any]] = []
        for name in sorted(files):
            sp = _spool(name)
            key = object_key(
                sp.kind,
                prefixes,
                bot_id,
                seq=sp.seq,
                participant=sp.participant,
                provider=provider,
                transcript_id=transcript_id,
            )
            seeded.keys[name] = key
            entries.append(
                {
                    "kind": sp.kind.value,
                    "key": key,
                    "size": len(files[name]),
                    "sha256": hashlib.sha256(files[name]).hexdigest(),
                    "content_type": CONTENT_TYPE_OF[sp.kind],
                }
            )
        if with_manifest:
            manifest = {
                "bot_id": bot_id,
                "transcript_id": transcript_id,
                "bucket": bucket,
                "artifacts": entries,
                "participants": meeting_data.get("participants", []),
                "speaker_timeline": meeting_data.get("speaker_timeline", []),
                "video_info": meeting_data.get("video_info"),
            }
            files["manifest.json"] = json.dumps(manifest, indent=2).encode()
            seeded.keys["manifest.json"] = object_key(ArtifactKind.MANIFEST, prefixes, bot_id)
        for name, data in files.items():
            sp = _spool(name)
            key = seeded.keys[name]
            state = states.get(name, "uploaded")
            err = errors.get(name)
            if state == "uploaded":
                assert write is not None, "pass write= for a custom pin"
                write(key, data, CONTENT_TYPE_OF[sp.kind])
                seeded.data[key] = data
            rows.append(
                {
                    "bot_id": bot_id,
                    "account_id": account_id,
                    "kind": sp.kind.value,
                    "category": CATEGORY_OF[sp.kind].value,
                    "seq": sp.seq,
                    "participant": sp.participant,
                    "spool_name": name,
                    "key": key,
                    "content_type": CONTENT_TYPE_OF[sp.kind],
                    "size": len(data),
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "state": state,
                    "attempts": 0 if state == "pending" else 1,
                    # Far ahead: an upload worker running alongside never claims a seeded row.
                    "next_attempt_at": now + timedelta(days=365),
                    "last_error_code": err[0] if err else None,
                    "last_error_operation": err[1] if err else None,
                    "last_error_message": err[2] if err else None,
                    "uploaded_at": now if state == "uploaded" else None,
                    "spool_deleted": False,
                    "taken_at_s": float(sp.seq * 3) if sp.kind is ArtifactKind.SCREENSHOT else None,
                    "created_at": now,
                }
            )
    with container.db.session() as s:
        s.add(
            Bot(
                id=bot_id,
                account_id=account_id,
                transcript_id=transcript_id,
                transcript_provider=provider,
                meeting_link="https://meet.google.com/abc-defg-hij",
                bot_name="seeded",
                status=status,
                callback_url=None,
                options={},
                idempotency_key=None,
                runtime="simulated",
                created_at=now - timedelta(seconds=5),
                updated_at=now,
                left_at=now if pin else None,
                done_at=now if status == "Done" else None,
                pin_kind=pin,
                pin_bucket=bucket if pin else None,
                pin_region=region if pin else None,
                pin_endpoint_url=endpoint_url if pin else None,
                pin_config_version=config_version if pin == "custom" else None,
                pin_prefixes=prefixes.as_dict() if (pin and prefixes) else None,
                pinned_at=now if pin else None,
                meeting_data=meeting_data,
            )
        )
        s.flush()
        if rows:
            s.execute(insert(Artifact), rows)
    return seeded


def set_state(
    container: Container, bot_id: str, spool_name: str, state: str, *, bot_status: str | None = None
) -> None:
    """Move one artifact to `state` (what the upload worker does), optionally the bot's status too."""
    with container.db.session() as s:
        row = s.query(Artifact).filter_by(bot_id=bot_id, spool_name=spool_name).one()
        row.state = state
        if bot_status is not None:
            bot = s.get(Bot, bot_id)
            assert bot is not None
            bot.status = bot_status


def custom_pin(config_view: dict[str, Any] | StorageConfigView) -> dict[str, Any]:
    """seed_bot keyword arguments pinning to the configuration GET /admin/configs returned (or
    the storage service's view of it)."""
    if isinstance(config_view, StorageConfigView):
        v = config_view
        return {
            "pin": "custom",
            "bucket": v.bucket_name,
            "region": v.region,
            "endpoint_url": v.endpoint_url,
            "config_version": v.version,
            "prefixes": v.prefixes,
        }
    p = config_view["prefixes"]
    return {
        "pin": "custom",
        "bucket": config_view["bucket_name"],
        "region": config_view["region"],
        "endpoint_url": config_view["endpoint_url"],
        "config_version": config_view["version"],
        "prefixes": CategoryPrefixes(p["audio"], p["video"], p["transcript"], p["metadata"]),
    }


def insert_storage_config(
    container: Container,
    account_id: str,
    *,
    bucket: str,
    region: str,
    access_key_id: str,
    secret_key: str,
    access_mode: str = "read_write",
    endpoint_url: str | None = None,
    prefix: str = "meetstream",
) -> int:
    """A configuration row as PUT would leave it, without live validation (for unit tests). → version."""
    now = datetime.now(UTC)
    box = container.box
    with container.db.session() as s:
        from meetstore.adapters.db.tables import Account

        acct = s.get(Account, account_id)
        assert acct is not None
        acct.storage_version_seq += 1
        version = acct.storage_version_seq
        row = s.get(StorageConfigRow, account_id)
        if row is None:
            row = StorageConfigRow(account_id=account_id)
            s.add(row)
            row.created_at = now
        row.version = version
        row.provider = "aws"
        row.bucket_name = bucket
        row.region = region
        row.endpoint_url = endpoint_url
        row.access_mode = access_mode
        row.prefix = prefix
        row.prefix_audio = row.prefix_video = row.prefix_transcript = row.prefix_metadata = prefix
        row.access_key_id_ct = box.seal(access_key_id, account_id=account_id, purpose=ACCESS_KEY_PURPOSE)
        row.secret_key_ct = box.seal(secret_key, account_id=account_id, purpose=SECRET_KEY_PURPOSE)
        row.extra = {}
        row.updated_at = now
        row.validated_at = now
    # What a save tells this process's caches as it commits (StorageConfigService.on_changed).
    container.s3.forget(account_id)
    container.fetch.final.forget_account(account_id)
    return version


# --- fetching everything through the official SDK -------------------------------------------------

SINGLE_NAMES = {
    "audio": "audio.mp3",
    "video": "video.mp4",
    "chat": "chat.json",
    "manifest": "manifest.json",
    "raw_transcript": "transcript/raw.json",
    "processed_transcript": "transcript/processed.json",
}


def fetch_all(
    client: Any,
    api_base: str,
    api_key: str,
    bot_id: str,
    download: Callable[[str], Any],
    *,
    video: bool = True,
    streams: bool = True,
    page_size: int = 2,
) -> dict[str, tuple[str, bytes]]:
    """Every file of a bot through the fetch endpoints: label → (url, downloaded bytes).

    Labels: the keys of SINGLE_NAMES for single files, "stream:<key>" and "screenshot:<key>" for
    collection items (screenshots paged through with `page_size`). Each URL is downloaded with
    `download` (an httpx-style response with status_code/content).
    """
    import httpx

    urls: dict[str, str] = {"audio": client.bots.audio(bot_id)["audio_url"]}
    chats = client.bots.chats(bot_id)
    assert chats["file_type"] == "json"
    urls["chat"] = chats["download_url"]
    manifest = httpx.get(
        f"{api_base}/bots/{bot_id}/get_manifest", headers={"Authorization": f"Token {api_key}"}, timeout=30
    )
    assert manifest.status_code == 200, manifest.text
    urls["manifest"] = manifest.json()["manifest_url"]
    listing = client.transcripts.list_for_bot(bot_id)
    urls["raw_transcript"] = listing["download_urls"]["raw_transcript"]
    urls["processed_transcript"] = listing["download_urls"]["processed_transcript"]
    if video:
        urls["video"] = client.bots.video(bot_id)["video_url"]
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"limit": page_size}
            if cursor:
                params["cursor"] = cursor
            page = client.bots.screenshots(bot_id, params=params)
            assert len(page["screenshots"]) <= page_size
            for item in page["screenshots"]:
                label = "screenshot:" + item["key"]
                assert label not in urls
                urls[label] = item["url"]
            cursor = page["next_cursor"]
            if not cursor:
                break
    if streams:
        for item in client.bots.audio_streams(bot_id)["streams"]:
            urls["stream:" + item["key"]] = item["url"]
    out: dict[str, tuple[str, bytes]] = {}
    for label, url in urls.items():
        resp = download(url)
        assert resp.status_code == 200, (label, resp.status_code, resp.text[:300])
        out[label] = (url, resp.content)
    return out


def by_key(fetched: dict[str, tuple[str, bytes]], seeded: SeededBot) -> dict[str, bytes]:
    """fetch_all's result keyed by object key (single files mapped through the seeded names)."""
    out: dict[str, bytes] = {}
    for label, (_url, data) in fetched.items():
        if ":" in label:
            out[label.split(":", 1)[1]] = data
        else:
            out[seeded.key(SINGLE_NAMES[label])] = data
    return out


def key_of_path_style_url(url: str, bucket: str) -> str:
    """The object key of a path-style presigned URL (endpoint_url set)."""
    from urllib.parse import unquote, urlsplit

    path = unquote(urlsplit(url).path)
    assert path.startswith(f"/{bucket}/"), url
    return path[len(bucket) + 2 :]
