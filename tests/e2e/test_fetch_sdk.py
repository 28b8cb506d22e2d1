"""End to end through the official SDK: create_bot → simulated meeting → uploads → Done → fetch.

Every URL the fetch endpoints hand out is downloaded and compared byte for byte with what the
pipeline wrote (the customer's moto bucket, or the local platform store); then the storage
configuration changes (write_only, back to read_write, deleted) and the answers follow API.md.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from meetstream import MeetStream, NotReadyError, PermissionError

from meetstore.adapters.platform_store.local import LocalPlatformStore

from conftest import new_account, sdk_for
from support.fetch_rows import fetch_all, key_of_path_style_url
from support.moto_s3 import MotoS3, put_only, read_write
from support.servers import RunningServer

BOT = {
    "meeting_link": "https://meet.google.com/abc-defg-hij",
    "bot_name": "Recorder",
    "video_required": True,
    "audio_separate_streams": True,
    "recording_config": {"simulated": {"duration_s": 1.5}},
}


def config_body(moto: MotoS3, bucket: str, keys: tuple[str, str], **extra: Any) -> dict[str, Any]:
    return {
        "provider": "aws",
        "bucket_name": bucket,
        "region": "us-east-1",
        "access_key_id": keys[0],
        "secret_key": keys[1],
        "endpoint_url": moto.endpoint,
        **extra,
    }


def run_bot(client: MeetStream) -> dict[str, Any]:
    bot: dict[str, Any] = client.bots.create(BOT)
    assert bot["status"] == "Joining"
    # Still in the meeting: nothing is final yet.
    with pytest.raises(NotReadyError) as err:
        client.bots.audio(bot["bot_id"])
    assert err.value.body["code"] == "media_not_ready"
    audio = client.bots.wait_for_audio(bot["bot_id"], timeout=90, interval=0.1)
    assert audio["expires_in"] == 3600
    video = client.bots.wait_for_video(bot["bot_id"], timeout=90, interval=0.1)
    assert video["expires_in"] == 600
    deadline = time.monotonic() + 90
    while client.bots.status(bot["bot_id"])["status"] != "Done":
        assert time.monotonic() < deadline, client.bots.detail(bot["bot_id"])
        time.sleep(0.05)
    return bot


def assert_inline_matches(
    client: MeetStream, bot: dict[str, Any], read: Callable[[str], bytes], keys: dict[str, str]
) -> None:
    manifest = json.loads(read(keys["manifest"]))
    people = client.bots.participants(bot["bot_id"])  # MeetStream's shape, from the manifest
    assert [(p["deviceId"], p["fullName"]) for p in people] == [(p["id"], p["name"]) for p in manifest["participants"]]
    streams = client.bots.audio_streams(bot["bot_id"])["streams"]
    for p in people:
        assert p["status"] == "left" and p["profilePicture"] is None
        assert p["streamIds"] == sorted(s["participant_id"] for s in streams if s["participant"] == p["fullName"])
    assert any(p["streamIds"] for p in people)  # the bot records separate streams
    assert client.bots.speaker_timeline(bot["bot_id"]) == manifest["speaker_timeline"]
    assert len(manifest["participants"]) >= 1 and len(manifest["speaker_timeline"]) >= 1
    segments = client.transcripts.get(bot["transcript_id"])
    assert segments == json.loads(read(keys["processed_transcript"]))
    assert segments and {"speaker", "transcript", "start", "end"} <= set(segments[0])
    assert client.transcripts.get(bot["transcript_id"], raw=True) == json.loads(read(keys["raw_transcript"]))
    video = client.bots.video(bot["bot_id"])
    assert video["video_info"] == {k: manifest["video_info"][k] for k in video["video_info"]}
    assert video["video_info"]["resolution"] and video["video_info"]["fps"]


def test_custom_bucket_end_to_end(make_server: Callable[..., RunningServer], moto: MotoS3) -> None:
    server = make_server("sqlite")
    bucket = moto.make_bucket()
    keys = moto.make_user(read_write(bucket, "meetstream"))
    acct = new_account(server)
    client = sdk_for(server, acct.api_key)
    client.storage.set(config_body(moto, bucket, keys))

    bot = run_bot(client)
    bot_id = bot["bot_id"]
    fetched = fetch_all(client, server.api, acct.api_key, bot_id, moto.get_presigned)
    in_bucket = moto.objects(bucket, f"meetstream/{bot_id}_")
    downloaded = {key_of_path_style_url(url, bucket): data for url, data in fetched.values()}
    # Every object of the bot was handed out by some fetch endpoint, byte for byte.
    assert set(downloaded) == set(in_bucket)
    for key, data in downloaded.items():
        assert data == in_bucket[key], key
    assert any("_screenshots/" in k for k in downloaded) and any("_audio_streams/" in k for k in downloaded)
    single = {
        label: key_of_path_style_url(url, bucket) for label, (url, _d) in fetched.items() if ":" not in label
    }
    assert_inline_matches(client, bot, lambda k: in_bucket[k], single)
    manifest = json.loads(in_bucket[single["manifest"]])
    assert {a["key"] for a in manifest["artifacts"]} | {single["manifest"]} == set(in_bucket)

    # The customer narrows the bucket to write_only: the files stay, meetstore says where they are.
    moto.set_user_policy(keys[0], put_only(bucket, "meetstream"))
    client.storage.set(config_body(moto, bucket, keys, access_mode="write_only"))
    with pytest.raises(PermissionError) as err:
        client.bots.audio(bot_id)
    body = err.value.body
    assert body["code"] == "write_only_storage" and body["access_mode"] == "write_only"
    assert body["location"] == f"s3://{bucket}/{single['audio']}"
    with pytest.raises(PermissionError) as err:
        client.bots.screenshots(bot_id)
    assert err.value.body["key"] == f"meetstream/{bot_id}_screenshots/"

    # Back to read_write: fetchable at once, no re-upload.
    moto.set_user_policy(keys[0], read_write(bucket, "meetstream"))
    client.storage.set(config_body(moto, bucket, keys))
    url = client.bots.audio(bot_id)["audio_url"]
    assert moto.get_presigned(url).content == in_bucket[single["audio"]]

    # Deleted: not accessible, and the files are still in the bucket.
    client.storage.delete()
    with pytest.raises(PermissionError) as err:
        client.bots.video(bot_id)
    assert err.value.body["code"] == "storage_not_accessible"
    assert err.value.body["location"] == f"s3://{bucket}/{single['video']}"
    with pytest.raises(PermissionError):
        client.transcripts.get(bot["transcript_id"])
    assert moto.objects(bucket, f"meetstream/{bot_id}_") == in_bucket


def test_platform_store_end_to_end(make_server: Callable[..., RunningServer]) -> None:
    server = make_server("sqlite")
    acct = new_account(server)
    client = sdk_for(server, acct.api_key)
    store = server.container.platform.store
    assert isinstance(store, LocalPlatformStore)

    bot = run_bot(client)
    bot_id = bot["bot_id"]
    fetched = fetch_all(client, server.api, acct.api_key, bot_id, lambda url: httpx.get(url, timeout=30))
    keys: dict[str, str] = {}
    for label, (url, data) in fetched.items():
        assert url.startswith(server.url + "/files/")
        key = store.verify(url.rsplit("/", 1)[1]).key
        keys[label] = key
        assert key.startswith(f"accounts/{acct.account_id}/meetstream/{bot_id}_")
        assert data == store.path_of(key).read_bytes(), label
    root = store.path_of(keys["manifest"]).parent
    on_disk = {str(p.relative_to(store.root)) for p in root.rglob("*") if p.is_file() and bot_id in str(p)}
    assert on_disk == set(keys.values())
    manifest = json.loads(store.path_of(keys["manifest"]).read_bytes())
    assert {a["key"] for a in manifest["artifacts"]} | {keys["manifest"]} == on_disk
    single = {label: key for label, key in keys.items() if ":" not in label}
    assert_inline_matches(client, bot, lambda k: store.path_of(k).read_bytes(), single)
    # Seeking in the video, as a browser does.
    video_url = fetched["video"][0]
    part = httpx.get(video_url, headers={"Range": "bytes=100-299"})
    assert part.status_code == 206 and part.content == fetched["video"][1][100:300]
