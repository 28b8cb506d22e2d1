"""Uploads land at exactly the documented keys, byte-identical, with content type and SHA-256.

Real S3 (moto, IAM on), the app on a port with its in-process upload worker, SQLite and PostgreSQL.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable

from conftest import new_account, sdk_for
from support.moto_s3 import MotoS3, put_only, read_write
from support.pipeline import artifacts, events, pinned_bot, storage_body, wait_done, wait_until
from support.servers import RunningServer

FILES: dict[str, bytes] = {
    "audio.mp3": b"ID3" + b"\x01" * 3000,
    "video.mp4": b"\x00\x00\x00\x18ftypmp42" + b"\x02" * 5000,
    "chat.json": json.dumps([{"sender": "Ada", "text": "hi"}]).encode(),
    "screenshots/00001.png": b"\x89PNG\r\n\x1a\n" + b"\x03" * 700,
    "screenshots/00002.png": b"\x89PNG\r\n\x1a\n" + b"\x04" * 800,
    "audio_streams/ada-lovelace_1.webm": b"\x1aE\xdf\xa3" + b"\x05" * 900,
    "transcript/raw.json": json.dumps({"words": []}).encode(),
    "transcript/processed.json": json.dumps(
        [{"speaker": "Ada", "transcript": "hello", "start": 0.0, "end": 1.0}]
    ).encode(),
    "participants.json": json.dumps([{"name": "Ada"}]).encode(),
}

CONTENT_TYPES = {
    "audio.mp3": "audio/mpeg",
    "video.mp4": "video/mp4",
    "chat.json": "application/json",
    "screenshots/00001.png": "image/png",
    "screenshots/00002.png": "image/png",
    "audio_streams/ada-lovelace_1.webm": "audio/webm",
    "transcript/raw.json": "application/json",
    "transcript/processed.json": "application/json",
    "manifest.json": "application/json",
}


def sha256_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def test_files_land_at_the_documented_keys(server: RunningServer, moto: MotoS3) -> None:
    bucket = moto.make_bucket()
    keys = moto.make_user(read_write(bucket, "meta", "rec/audio", "rec/video", "transcripts"))
    acct = new_account(server)
    sdk_for(server, acct.api_key).storage.set(
        storage_body(
            moto.endpoint,
            bucket,
            keys,
            prefix="meta",
            prefixes={"audio": "rec/audio", "video": "/rec/video/", "transcript": "transcripts"},
        )
    )
    bot = pinned_bot(server.container, acct.account_id, FILES)
    done = wait_done(server.container, bot.bot_id)
    assert done.done_at is not None

    b, t = bot.bot_id, bot.transcript_id
    expected = {
        "audio.mp3": f"rec/audio/{b}_audio.mp3",
        "audio_streams/ada-lovelace_1.webm": f"rec/audio/{b}_audio_streams/ada-lovelace_1.webm",
        "video.mp4": f"rec/video/{b}_video.mp4",
        "screenshots/00001.png": f"rec/video/{b}_screenshots/00001.png",
        "screenshots/00002.png": f"rec/video/{b}_screenshots/00002.png",
        "transcript/raw.json": f"transcripts/{b}_transcription/meetstream/{t}/raw.json",
        "transcript/processed.json": f"transcripts/{b}_transcription/meetstream/{t}/processed.json",
        "chat.json": f"meta/{b}_chat.json",
        "manifest.json": f"meta/{b}_manifest.json",
    }
    assert moto.keys(bucket) == sorted(expected.values())
    stored = moto.objects(bucket)
    s3 = moto.admin
    for name, key in expected.items():
        head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
        assert head["ContentType"] == CONTENT_TYPES[name], name
        assert head["ChecksumSHA256"] == sha256_b64(stored[key]), name
        # Every write names its bot and account (x-amz-meta-*), for the customer's inventory.
        assert head["Metadata"] == {"meetstore-bot-id": b, "meetstore-account-id": acct.account_id}, name
        if name != "manifest.json":
            assert stored[key] == FILES[name], name

    manifest = json.loads(stored[f"meta/{b}_manifest.json"])
    listed = {a["key"]: a for a in manifest["artifacts"]}
    for name, key in expected.items():
        if name == "manifest.json":
            continue
        assert listed[key]["sha256"] == hashlib.sha256(FILES[name]).hexdigest()
        assert listed[key]["size"] == len(FILES[name])

    rows = artifacts(server.container, b)
    assert {r.state for r in rows.values()} == {"uploaded"}
    assert all(r.spool_deleted and r.lease_owner is None and r.attempts == 1 for r in rows.values())
    # The folder goes just after the last file's row is marked deleted (after the Done commit).
    folder = server.container.settings.spool_dir / b
    wait_until(lambda: not folder.exists(), 10, "the Done bot's spool folder removed")

    evs = events(server.container, b)
    names = [e["event"] for e in evs]
    for processed in ("audio.processed", "video.processed", "transcription.processed"):
        assert names.count(processed) == 1
    assert names[-1] == "bot.done" and names.count("bot.done") == 1
    assert evs[-1]["bot_status"] == "Done"
    assert all("key" not in e for e in evs if e["event"].endswith(".processed"))  # read_write: no location


def test_write_only_storage_events_say_where_the_file_is(server: RunningServer, moto: MotoS3) -> None:
    bucket = moto.make_bucket()
    keys = moto.make_user(put_only(bucket, "drop"))
    acct = new_account(server)
    sdk_for(server, acct.api_key).storage.set(
        storage_body(moto.endpoint, bucket, keys, access_mode="write_only", prefix="drop")
    )
    files = {k: FILES[k] for k in ("audio.mp3", "video.mp4", "transcript/processed.json", "chat.json")}
    bot = pinned_bot(server.container, acct.account_id, files)
    wait_done(server.container, bot.bot_id)

    b, t = bot.bot_id, bot.transcript_id
    assert [k for k in moto.keys(bucket) if ".write_probe_" not in k] == sorted(
        [
            f"drop/{b}_audio.mp3",
            f"drop/{b}_chat.json",
            f"drop/{b}_manifest.json",
            f"drop/{b}_transcription/meetstream/{t}/processed.json",
            f"drop/{b}_video.mp4",
        ]
    )
    by_event = {e["event"]: e for e in events(server.container, b)}
    assert by_event["audio.processed"]["bucket"] == bucket
    assert by_event["audio.processed"]["key"] == f"drop/{b}_audio.mp3"
    assert by_event["video.processed"]["key"] == f"drop/{b}_video.mp4"
    assert (
        by_event["transcription.processed"]["key"] == f"drop/{b}_transcription/meetstream/{t}/processed.json"
    )


def test_platform_store_without_custom_storage(server: RunningServer) -> None:
    acct = new_account(server)
    files = {k: FILES[k] for k in ("audio.mp3", "screenshots/00001.png", "chat.json")}
    bot = pinned_bot(server.container, acct.account_id, files)
    wait_done(server.container, bot.bot_id)

    root = server.container.settings.local_store_dir
    base = root / "accounts" / acct.account_id / "meetstream"
    b = bot.bot_id
    assert (base / f"{b}_audio.mp3").read_bytes() == FILES["audio.mp3"]
    assert (base / f"{b}_screenshots" / "00001.png").read_bytes() == FILES["screenshots/00001.png"]
    assert (base / f"{b}_chat.json").read_bytes() == FILES["chat.json"]
    assert (base / f"{b}_manifest.json").is_file()
    stored = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
    assert stored == sorted(
        f"accounts/{acct.account_id}/meetstream/{name}"
        for name in (f"{b}_audio.mp3", f"{b}_screenshots/00001.png", f"{b}_chat.json", f"{b}_manifest.json")
    )
    assert {r.state for r in artifacts(server.container, b).values()} == {"uploaded"}


def test_every_done_bots_spool_folder_is_removed_when_threads_finish_together(
    make_server: Callable[..., RunningServer], backend: str
) -> None:
    """Four upload threads finish a bot's files at about the same moment: whichever thread is
    last, the folder of every Done bot goes (the thread that made the bot Done is not always the
    last to delete its file)."""
    server = make_server(backend, upload_concurrency=4)
    acct = new_account(server)
    bots = [pinned_bot(server.container, acct.account_id, FILES) for _ in range(12)]
    for bot in bots:
        wait_done(server.container, bot.bot_id)
    spool = server.container.settings.spool_dir
    wait_until(
        lambda: not any((spool / bot.bot_id).exists() for bot in bots),
        10,
        "every Done bot's spool folder removed",
    )
    for bot in bots:
        rows = artifacts(server.container, bot.bot_id)
        assert {(r.state, r.spool_deleted) for r in rows.values()} == {("uploaded", True)}
