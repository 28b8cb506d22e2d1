"""Bots pinned to the platform store: the local folder (URLs to meetstore itself) and an S3 bucket."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from pydantic import SecretStr

from meetstore.adapters.platform_store.local import LocalPlatformStore

from conftest import new_account, sdk_for
from support.fetch_rows import SINGLE_NAMES, by_key, fetch_all, seed_bot
from support.moto_s3 import MotoS3, put_only, read_write
from support.servers import RunningServer

EXPECTED_TYPES = {
    ".mp3": "audio/mpeg",
    ".mp4": "video/mp4",
    ".webm": "audio/webm",
    ".png": "image/png",
    ".json": "application/json",
}


@pytest.fixture(params=["sqlite", "postgres"])
def server(make_server: Callable[..., RunningServer], request: pytest.FixtureRequest) -> RunningServer:
    return make_server(request.param, workers=False)


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


def test_local_platform_store_serves_every_file(server: RunningServer, moto: MotoS3) -> None:
    acct = new_account(server)
    client = sdk_for(server, acct.api_key)
    seeded = seed_bot(server.container, acct.account_id, pin="platform")
    store = server.container.platform.store
    assert isinstance(store, LocalPlatformStore)

    responses: dict[str, httpx.Response] = {}

    def download(url: str) -> httpx.Response:
        assert url.startswith(server.url + "/files/"), url
        resp = httpx.get(url, timeout=30)  # no API key: the token is the credential
        responses[url] = resp
        return resp

    fetched = fetch_all(client, server.api, acct.api_key, seeded.bot_id, download)
    got = by_key(fetched, seeded)
    assert set(got) == set(seeded.data)
    prefix = f"accounts/{acct.account_id}/meetstream/{seeded.bot_id}_"
    for key, data in got.items():
        assert key.startswith(prefix)
        assert data == store.path_of(key).read_bytes() == seeded.data[key], key
    for label, (url, data) in fetched.items():
        resp = responses[url]
        key = label.split(":", 1)[1] if ":" in label else seeded.key(SINGLE_NAMES[label])
        ext = "." + key.rsplit(".", 1)[-1]
        assert resp.headers["content-type"].split(";")[0] == EXPECTED_TYPES[ext], label
        assert resp.headers["content-length"] == str(len(data))
        assert resp.headers["accept-ranges"] == "bytes"

    manifest = json.loads(store.path_of(seeded.key("manifest.json")).read_bytes())
    people = client.bots.participants(seeded.bot_id)  # MeetStream's shape, from the manifest
    assert [(p["deviceId"], p["fullName"]) for p in people] == [(p["id"], p["name"]) for p in manifest["participants"]]
    assert all(set(p) == {"deviceId", "fullName", "profilePicture", "status", "streamIds"} for p in people)
    assert client.bots.speaker_timeline(seeded.bot_id) == manifest["speaker_timeline"]
    assert client.transcripts.get(seeded.transcript_id) == json.loads(
        store.path_of(seeded.key("transcript/processed.json")).read_bytes()
    )
    assert client.transcripts.get(seeded.transcript_id, raw=True) == json.loads(
        store.path_of(seeded.key("transcript/raw.json")).read_bytes()
    )


def test_platform_bots_ignore_later_custom_config(server: RunningServer, moto: MotoS3) -> None:
    """A bot pinned to the platform stays fetchable whatever the account configures afterwards."""
    acct = new_account(server)
    client = sdk_for(server, acct.api_key)
    seeded = seed_bot(server.container, acct.account_id, pin="platform")
    bucket = moto.make_bucket()
    keys = moto.make_user(put_only(bucket, "meetstream"))
    client.storage.set(config_body(moto, bucket, keys, access_mode="write_only"))
    url = client.bots.audio(seeded.bot_id)["audio_url"]
    assert httpx.get(url).content == seeded.data[seeded.key("audio.mp3")]
    assert client.bots.participants(seeded.bot_id)  # inline reads too
    client.storage.delete()
    url = client.bots.video(seeded.bot_id)["video_url"]
    assert httpx.get(url).content == seeded.data[seeded.key("video.mp4")]


def test_s3_platform_bucket_gives_ordinary_presigned_urls(
    make_server: Callable[..., RunningServer], moto: MotoS3
) -> None:
    bucket = moto.make_bucket()
    keys = moto.make_user(read_write(bucket, "platform"))
    server = make_server(
        "sqlite",
        workers=False,
        platform_store=f"s3://{bucket}/platform",
        platform_s3_endpoint_url=moto.endpoint,
        platform_s3_access_key_id=SecretStr(keys[0]),
        platform_s3_secret_access_key=SecretStr(keys[1]),
        url_ttl_audio=900,
    )
    acct = new_account(server)
    client = sdk_for(server, acct.api_key)
    seeded = seed_bot(server.container, acct.account_id, pin="platform")
    in_bucket = moto.objects(bucket, f"platform/accounts/{acct.account_id}/meetstream/")
    assert set(in_bucket) == set(seeded.data)

    fetched = fetch_all(client, server.api, acct.api_key, seeded.bot_id, moto.get_presigned)
    got = by_key(fetched, seeded)
    assert got == in_bucket
    audio = client.bots.audio(seeded.bot_id)
    q = {k: v[0] for k, v in parse_qs(urlsplit(audio["audio_url"]).query).items()}
    assert q["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256" and q["X-Amz-Expires"] == "900"
    assert q["X-Amz-Credential"].startswith(keys[0] + "/")
    assert audio["expires_in"] == 900
    # Inline reads go through the platform bucket with IAM checks on.
    assert client.transcripts.get(seeded.transcript_id) == json.loads(
        in_bucket[seeded.key("transcript/processed.json")]
    )
    # There is no local store to serve: /files answers 404.
    assert httpx.get(server.url + "/files/abc.def").status_code == 404
