"""Fetch endpoints through the official SDK for bots pinned to a customer bucket (moto, IAM on).

Bots are seeded as "left" + the upload worker leave them (pinned Bot, artifact rows, objects in the
bucket); every outcome of API.md is then observed through the SDK, and every URL is downloaded and
compared byte for byte with the bucket.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from meetstream import MeetStream, NotFoundError, NotReadyError, PermissionError

from meetstore.adapters.s3.errors import explain

from conftest import new_account, sdk_for
from support.fetch_rows import by_key, custom_pin, fetch_all, media_files, seed_bot, set_state
from support.moto_s3 import MotoS3, put_only, read_write
from support.servers import RunningServer

BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(params=BACKENDS)
def server(make_server: Callable[..., RunningServer], request: pytest.FixtureRequest) -> RunningServer:
    """The app without its upload worker: the rows seeded here are the pipeline's whole truth."""
    return make_server(request.param, workers=False)


@pytest.fixture
def sqlite_server(make_server: Callable[..., RunningServer]) -> RunningServer:
    return make_server("sqlite", workers=False)


DEFAULT_TTL = {"audio": 3600, "video": 600, "audio_streams": 600, "screenshots": 600, "chats": 3600}


def config_body(moto: MotoS3, bucket: str, keys: tuple[str, str], **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "provider": "aws",
        "bucket_name": bucket,
        "region": "us-east-1",
        "access_key_id": keys[0],
        "secret_key": keys[1],
        "endpoint_url": moto.endpoint,
    }
    out.update(extra)
    return out


def writer(moto: MotoS3, bucket: str) -> Any:
    admin = moto.admin  # one client: building one costs ~0.2 s

    def write(key: str, data: bytes, content_type: str) -> None:
        admin.put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type)

    return write


def get(server: RunningServer, api_key: str, path: str, **params: Any) -> httpx.Response:
    return httpx.get(
        server.api + path, params=params, headers={"Authorization": f"Token {api_key}"}, timeout=30
    )


ENDPOINTS = [
    "get_audio",
    "get_video",
    "get_audio_streams",
    "get_screenshots",
    "get_chats",
    "transcriptions",
    "get_manifest",
    "get_participants",
    "get_speaker_timeline",
]


def all_responses(
    server: RunningServer, api_key: str, bot_id: str, transcript_id: str
) -> dict[str, httpx.Response]:
    out = {name: get(server, api_key, f"/bots/{bot_id}/{name}") for name in ENDPOINTS}
    out["get_transcript"] = get(server, api_key, f"/transcript/{transcript_id}/get_transcript", raw="false")
    out["get_transcript_raw"] = get(
        server, api_key, f"/transcript/{transcript_id}/get_transcript", raw="true"
    )
    return out


# Which object (single) or folder (collection) each endpoint names in its 403 body.
def expected_location_key(name: str, seeded: Any, prefix: str = "meetstream") -> str:
    bot = seeded.bot_id
    return {
        "get_audio": seeded.key("audio.mp3"),
        "get_video": seeded.key("video.mp4"),
        "get_audio_streams": f"{prefix}/{bot}_audio_streams/",
        "get_screenshots": f"{prefix}/{bot}_screenshots/",
        "get_chats": seeded.key("chat.json"),
        "transcriptions": f"{prefix}/{bot}_transcription/{seeded.provider}/{seeded.transcript_id}/",
        "get_manifest": seeded.key("manifest.json"),
        "get_participants": seeded.key("manifest.json"),
        "get_speaker_timeline": seeded.key("manifest.json"),
        "get_transcript": seeded.key("transcript/processed.json"),
        "get_transcript_raw": seeded.key("transcript/raw.json"),
    }[name]


def assert_served_exactly(
    client: MeetStream, server: RunningServer, api_key: str, moto: MotoS3, bucket: str, seeded: Any
) -> None:
    """Every URL downloads the exact bytes in the bucket; inline endpoints return the stored JSON."""
    fetched = fetch_all(client, server.api, api_key, seeded.bot_id, moto.get_presigned)
    in_bucket = moto.objects(bucket, f"meetstream/{seeded.bot_id}_")
    got = by_key(fetched, seeded)
    assert set(got) == set(in_bucket) == set(seeded.data)
    for key, data in got.items():
        assert data == in_bucket[key], key
    # Each URL is a SigV4 URL for the pinned bucket with the lifetime in the body.
    for label, (url, _data) in fetched.items():
        q = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        assert q["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256", label
        assert urlsplit(url).path.startswith(f"/{bucket}/meetstream/{seeded.bot_id}_"), label
    # Inline endpoints read the very objects in the bucket.
    manifest = json.loads(in_bucket[seeded.key("manifest.json")])
    people = client.bots.participants(seeded.bot_id)  # MeetStream's shape, from the manifest
    assert [(p["deviceId"], p["fullName"]) for p in people] == [(p["id"], p["name"]) for p in manifest["participants"]]
    assert all(set(p) == {"deviceId", "fullName", "profilePicture", "status", "streamIds"} for p in people)
    assert client.bots.speaker_timeline(seeded.bot_id) == manifest["speaker_timeline"]
    assert client.transcripts.get(seeded.transcript_id) == json.loads(
        in_bucket[seeded.key("transcript/processed.json")]
    )
    raw = get(server, api_key, f"/transcript/{seeded.transcript_id}/get_transcript", raw="true")
    assert raw.status_code == 200 and raw.content == in_bucket[seeded.key("transcript/raw.json")]
    assert client.transcripts.get(seeded.transcript_id, raw=True) == json.loads(raw.content)


def test_read_write_serves_every_file_byte_for_byte(server: RunningServer, moto: MotoS3) -> None:
    bucket = moto.make_bucket()
    keys = moto.make_user(read_write(bucket, "meetstream"))
    acct = new_account(server)
    client = sdk_for(server, acct.api_key)
    view = client.storage.set(config_body(moto, bucket, keys))
    seeded = seed_bot(server.container, acct.account_id, **custom_pin(view), write=writer(moto, bucket))

    assert_served_exactly(client, server, acct.api_key, moto, bucket, seeded)

    # Bodies: lifetimes of the table, the real expires_in and expires_at, video_info from the runtime.
    now = time.time()
    audio = client.bots.audio(seeded.bot_id)
    video = client.bots.video(seeded.bot_id)
    streams = client.bots.audio_streams(seeded.bot_id)
    shots = client.bots.screenshots(seeded.bot_id)
    chats = client.bots.chats(seeded.bot_id)
    listing = client.transcripts.list_for_bot(seeded.bot_id)
    manifest = get(server, acct.api_key, f"/bots/{seeded.bot_id}/get_manifest").json()
    for body, ttl, url in [
        (audio, 3600, audio["audio_url"]),
        (video, 600, video["video_url"]),
        (streams, 600, streams["streams"][0]["url"]),
        (shots, 600, shots["screenshots"][0]["url"]),
        (chats, 3600, chats["download_url"]),
        (listing, 3600, listing["download_urls"]["raw_transcript"]),
        (manifest, 3600, manifest["manifest_url"]),
    ]:
        assert body["expires_in"] == ttl
        assert parse_qs(urlsplit(url).query)["X-Amz-Expires"] == [str(ttl)]
        at = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00")).timestamp()
        assert now + ttl - 5 <= at <= now + ttl + 5
    assert set(audio) == {"audio_url", "expires_in", "expires_at"}
    assert video["video_info"] == {
        "duration": 2.0,
        "size_mb": 0.01,
        "resolution": "640x360",
        "fps": 15,
        "frames_processed": 30,
        "corrupted_frames": 0,
    }
    assert [s["participant"] for s in streams["streams"]] == ["Alice Example", "Bob Example"]
    assert [s["key"] for s in streams["streams"]] == [
        seeded.key("audio_streams/alice-example_1.webm"),
        seeded.key("audio_streams/bob-example_2.webm"),
    ]
    assert [s["key"] for s in shots["screenshots"]] == [
        seeded.key(f"screenshots/{n:05d}.png") for n in (1, 2, 3)
    ]
    assert shots["next_cursor"] is None
    for item in shots["screenshots"]:
        assert set(item) == {"url", "taken_at", "key"}
        assert item["taken_at"].endswith("Z")
    # Screenshot n was taken 3n s into the recording (seeded offsets), in order.
    taken = [datetime.fromisoformat(s["taken_at"].replace("Z", "+00:00")) for s in shots["screenshots"]]
    assert [(b - a).total_seconds() for a, b in itertools.pairwise(taken)] == [3.0, 3.0]
    assert listing["transcript_id"] == seeded.transcript_id and listing["provider"] == "meetstream"
    assert set(manifest) == {"manifest_url", "expires_in", "expires_at"}


def test_write_only_refuses_then_upgrade_serves_at_once(server: RunningServer, moto: MotoS3) -> None:
    bucket = moto.make_bucket()
    keys = moto.make_user(put_only(bucket, "meetstream"))
    acct = new_account(server)
    client = sdk_for(server, acct.api_key)
    view = client.storage.set(config_body(moto, bucket, keys, access_mode="write_only"))
    seeded = seed_bot(server.container, acct.account_id, **custom_pin(view), write=writer(moto, bucket))

    for name, resp in all_responses(server, acct.api_key, seeded.bot_id, seeded.transcript_id).items():
        assert resp.status_code == 403, (name, resp.text)
        body = resp.json()
        key = expected_location_key(name, seeded)
        assert body["code"] == "write_only_storage", name
        assert body["access_mode"] == "write_only"
        assert body["bucket"] == bucket and body["key"] == key
        assert body["location"] == f"s3://{bucket}/{key}"
        assert f"s3://{bucket}/{key}" in body["message"] and "read_write" in body["message"]
        assert "PUT /api/v1/admin/configs?config_type=storage" in body["message"]
    with pytest.raises(PermissionError) as err:
        client.bots.audio(seeded.bot_id)
    assert err.value.body["code"] == "write_only_storage"
    with pytest.raises(PermissionError):
        client.transcripts.get(seeded.transcript_id)

    # The customer grants s3:GetObject and switches the same bucket to read_write: no re-upload.
    moto.set_user_policy(keys[0], read_write(bucket, "meetstream"))
    upgraded = client.storage.set(config_body(moto, bucket, keys, access_mode="read_write"))
    assert upgraded["version"] == view["version"] + 1
    assert_served_exactly(client, server, acct.api_key, moto, bucket, seeded)


def test_deleted_config_is_not_accessible_and_files_stay(sqlite_server: RunningServer, moto: MotoS3) -> None:
    server = sqlite_server
    bucket = moto.make_bucket()
    keys = moto.make_user(read_write(bucket, "meetstream"))
    acct = new_account(server)
    client = sdk_for(server, acct.api_key)
    view = client.storage.set(config_body(moto, bucket, keys))
    seeded = seed_bot(server.container, acct.account_id, **custom_pin(view), write=writer(moto, bucket))
    assert client.bots.audio(seeded.bot_id)["audio_url"]

    assert client.storage.delete() == {}
    for name, resp in all_responses(server, acct.api_key, seeded.bot_id, seeded.transcript_id).items():
        assert resp.status_code == 403, (name, resp.text)
        body = resp.json()
        key = expected_location_key(name, seeded)
        assert body["code"] == "storage_not_accessible", name
        assert body["bucket"] == bucket and body["key"] == key
        assert body["location"] == f"s3://{bucket}/{key}"
        assert "deleted" in body["message"] and f"s3://{bucket}/{key}" in body["message"]
        assert keys[0] not in resp.text and keys[1] not in resp.text
    assert moto.objects(bucket, f"meetstream/{seeded.bot_id}_") == seeded.data


@pytest.mark.parametrize("change", ["other_bucket", "other_endpoint"])
def test_changed_config_is_not_accessible(sqlite_server: RunningServer, moto: MotoS3, change: str) -> None:
    server = sqlite_server
    bucket = moto.make_bucket()
    keys = moto.make_user(read_write(bucket, "meetstream"))
    acct = new_account(server)
    client = sdk_for(server, acct.api_key)
    view = client.storage.set(config_body(moto, bucket, keys))
    seeded = seed_bot(server.container, acct.account_id, **custom_pin(view), write=writer(moto, bucket))

    if change == "other_bucket":
        other = moto.make_bucket()
        client.storage.set(config_body(moto, other, moto.make_user(read_write(other, "meetstream"))))
        hint = f"bucket '{other}'"
    else:
        # The same moto server under another endpoint URL: a different S3 endpoint for meetstore.
        moved = moto.endpoint.replace("127.0.0.1", "localhost")
        client.storage.set(config_body(moto, bucket, keys, endpoint_url=moved))
        hint = "another endpoint"
    for call in (client.bots.audio, client.bots.video, client.bots.screenshots, client.bots.participants):
        with pytest.raises(PermissionError) as err:
            call(seeded.bot_id)
        body = err.value.body
        assert body["code"] == "storage_not_accessible"
        assert body["bucket"] == bucket and body["location"].startswith(f"s3://{bucket}/meetstream/")
        assert hint in body["message"]


def test_upload_failed_names_error_and_permission(sqlite_server: RunningServer, moto: MotoS3) -> None:
    server = sqlite_server
    bucket = moto.make_bucket()
    keys = moto.make_user(read_write(bucket, "meetstream"))
    acct = new_account(server)
    client = sdk_for(server, acct.api_key)
    view = client.storage.set(config_body(moto, bucket, keys))
    pin = custom_pin(view)

    # What the upload worker stores: the S3 error and translate()'s message naming the permission.
    message = explain("AccessDenied", "PutObject", bucket, f"meetstream/{uuid.uuid4()}_audio.mp3")
    files = media_files(screenshots=4)
    failed_names = [
        "audio.mp3",
        "audio_streams/bob-example_2.webm",
        "screenshots/00003.png",
        "screenshots/00004.png",
    ]
    seeded = seed_bot(
        server.container,
        acct.account_id,
        **pin,
        files=files,
        write=writer(moto, bucket),
        states={n: "failed" for n in failed_names},
        errors={n: ("AccessDenied", "PutObject", message) for n in failed_names},
    )

    def check(call: Any, name: str) -> None:
        with pytest.raises(NotFoundError) as err:
            call(seeded.bot_id)
        body = err.value.body
        assert body["code"] == "upload_failed"
        assert body["s3_error"] == "AccessDenied" and body["operation"] == "PutObject"
        assert body["bucket"] == bucket and body["key"] == seeded.key(name)
        assert f"s3:PutObject on arn:aws:s3:::{bucket}/meetstream/" in body["message"]
        assert body["message"].endswith(f"call POST /api/v1/bots/{seeded.bot_id}/retry_uploads to upload it again.")

    check(client.bots.audio, "audio.mp3")
    check(client.bots.audio_streams, "audio_streams/bob-example_2.webm")
    check(client.bots.screenshots, "screenshots/00003.png")  # the first failed one
    # Files that did upload are served.
    url = client.bots.video(seeded.bot_id)["video_url"]
    assert moto.get_presigned(url).content == moto.objects(bucket)[seeded.key("video.mp4")]


def test_not_ready_then_wait_for_audio_and_video(sqlite_server: RunningServer, moto: MotoS3) -> None:
    server = sqlite_server
    bucket = moto.make_bucket()
    keys = moto.make_user(read_write(bucket, "meetstream"))
    acct = new_account(server)
    client = sdk_for(server, acct.api_key)
    view = client.storage.set(config_body(moto, bucket, keys))

    # Still in the meeting: not pinned, every endpoint says 202 with the bot's status.
    live = seed_bot(server.container, acct.account_id, pin=None, status="Recording")
    for name, resp in all_responses(server, acct.api_key, live.bot_id, live.transcript_id).items():
        assert resp.status_code == 202, (name, resp.text)
        assert resp.json()["code"] == "media_not_ready" and resp.json()["status"] == "Recording"
    with pytest.raises(NotReadyError) as err:
        client.bots.audio(live.bot_id)
    assert err.value.body["status"] == "Recording"

    # Pinned, uploads under way: pending files are 202, uploaded ones are served.
    files = media_files()
    pending = ["audio.mp3", "video.mp4", "audio_streams/alice-example_1.webm", "screenshots/00002.png"]
    seeded = seed_bot(
        server.container,
        acct.account_id,
        **custom_pin(view),
        status="Stopped",
        files=files,
        states={n: "pending" for n in pending},
        write=writer(moto, bucket),
    )
    for call in (client.bots.audio, client.bots.video, client.bots.audio_streams, client.bots.screenshots):
        with pytest.raises(NotReadyError) as err:
            call(seeded.bot_id)
        assert err.value.body == {
            "message": err.value.body["message"],
            "code": "media_not_ready",
            "status": "Stopped",
        }
    assert client.bots.chats(seeded.bot_id)["download_url"]
    with pytest.raises(NotReadyError):
        client.bots.wait_for_audio(seeded.bot_id, timeout=0.3, interval=0.1)

    # The upload worker finishes them a moment later: wait_for_* returns the URL.
    def finish() -> None:
        time.sleep(0.4)
        write = writer(moto, bucket)
        for name in pending:
            write(seeded.key(name), files[name], "application/octet-stream")
            set_state(server.container, seeded.bot_id, name, "uploaded")
        set_state(server.container, seeded.bot_id, "audio.mp3", "uploaded", bot_status="Done")

    worker = threading.Thread(target=finish)
    worker.start()
    audio = client.bots.wait_for_audio(seeded.bot_id, timeout=20, interval=0.1)
    video = client.bots.wait_for_video(seeded.bot_id, timeout=20, interval=0.1)
    worker.join()
    assert moto.get_presigned(audio["audio_url"]).content == files["audio.mp3"]
    assert moto.get_presigned(video["video_url"]).content == files["video.mp4"]


def test_never_produced_is_artifact_not_found(sqlite_server: RunningServer, moto: MotoS3) -> None:
    server = sqlite_server
    bucket = moto.make_bucket()
    keys = moto.make_user(put_only(bucket, "meetstream"))
    acct = new_account(server)
    client = sdk_for(server, acct.api_key)
    # write_only: outcome 3 comes before the 403.
    view = client.storage.set(config_body(moto, bucket, keys, access_mode="write_only"))
    seeded = seed_bot(
        server.container,
        acct.account_id,
        **custom_pin(view),
        files=media_files(video=False, streams=False),
        write=writer(moto, bucket),
    )
    for call in (client.bots.video, client.bots.screenshots, client.bots.audio_streams):
        with pytest.raises(NotFoundError) as err:
            call(seeded.bot_id)
        assert err.value.body["code"] == "artifact_not_found"
    with pytest.raises(PermissionError) as denied:
        client.bots.audio(seeded.bot_id)
    assert denied.value.body["code"] == "write_only_storage"

    # A bot that ended in Error before writing anything has nothing coming either.
    broken = seed_bot(server.container, acct.account_id, pin=None, status="Error")
    with pytest.raises(NotFoundError) as err:
        client.bots.audio(broken.bot_id)
    assert err.value.body["code"] == "artifact_not_found"


def test_unknown_foreign_and_malformed_ids_are_identical_404s(
    sqlite_server: RunningServer, moto: MotoS3
) -> None:
    server = sqlite_server
    owner = new_account(server, "owner")
    other = new_account(server, "other")
    seeded = seed_bot(server.container, owner.account_id, pin="platform")
    assert sdk_for(server, owner.api_key).bots.audio(seeded.bot_id)["audio_url"]

    ids = [str(uuid.uuid4()), seeded.bot_id, "not-a-uuid", "1", seeded.bot_id.upper() + "x"]
    for name in ENDPOINTS:
        bodies = []
        for bot_id in ids:
            resp = get(server, other.api_key, f"/bots/{bot_id}/{name}")
            assert resp.status_code == 404, (name, bot_id, resp.text)
            bodies.append(resp.json())
        assert all(b == bodies[0] for b in bodies), name
        assert bodies[0]["code"] == "bot_not_found"
    # The same body the bot endpoints give for a bot that is not there.
    status = get(server, other.api_key, f"/bots/{seeded.bot_id}/status")
    assert status.status_code == 404 and status.json() == bodies[0]
    transcript_bodies = []
    for tid in (str(uuid.uuid4()), seeded.transcript_id, "nope"):
        resp = get(server, other.api_key, f"/transcript/{tid}/get_transcript")
        assert resp.status_code == 404
        transcript_bodies.append(resp.json())
    assert all(b == transcript_bodies[0] for b in transcript_bodies)
    assert transcript_bodies[0]["code"] == "bot_not_found"
    with pytest.raises(NotFoundError):
        sdk_for(server, other.api_key).transcripts.get(seeded.transcript_id)
    # No key at all: 401 before anything else.
    assert httpx.get(f"{server.api}/bots/{seeded.bot_id}/get_audio").status_code == 401


def test_bad_query_parameters_are_400(sqlite_server: RunningServer) -> None:
    server = sqlite_server
    acct = new_account(server)
    seeded = seed_bot(server.container, acct.account_id, pin="platform")
    for params, field in [
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"limit": "abc"}, "limit"),
        ({"cursor": "garbage"}, "cursor"),
    ]:
        resp = get(server, acct.api_key, f"/bots/{seeded.bot_id}/get_screenshots", **params)
        assert resp.status_code == 400, resp.text
        body = resp.json()
        assert body["code"] == "invalid_request" and body["errors"][0]["field"] == field
    resp = get(server, acct.api_key, f"/transcript/{seeded.transcript_id}/get_transcript", raw="maybe")
    assert resp.status_code == 400 and resp.json()["errors"][0]["field"] == "raw"


def test_expires_at_is_rfc3339_utc(sqlite_server: RunningServer) -> None:
    server = sqlite_server
    acct = new_account(server)
    seeded = seed_bot(server.container, acct.account_id, pin="platform")
    body = sdk_for(server, acct.api_key).bots.audio(seeded.bot_id)
    parsed = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert parsed.utcoffset() is not None and parsed.astimezone(UTC) == parsed
    assert body["expires_at"].endswith("Z") and "." not in body["expires_at"]
