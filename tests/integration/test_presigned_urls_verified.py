"""Presigned URLs checked by a server that verifies them: `rclone serve s3` (moto verifies no
presigned signature; TESTING.md). Download URLs are signed through the bucket's URL shape, learnt
once from botocore (adapters/s3/presign.py): every fetched URL downloads the exact bytes, and a URL
changed in its key, its expiry or its signature is refused.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

import boto3
import httpx
import pytest
from botocore.config import Config

from conftest import new_account, sdk_for
from support.fetch_rows import by_key, custom_pin, fetch_all, seed_bot
from support.servers import RunningServer, free_port

KEYS = ("rclone-access", "rclone-secret-key")
BUCKET = "media"


@pytest.fixture
def rclone(tmp_path: Path) -> Iterator[str]:
    """`rclone serve s3` over a folder with one bucket; yields its endpoint."""
    (tmp_path / BUCKET).mkdir()
    port = free_port()
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "rclone"), "serve", "s3", str(tmp_path), "--addr", f"127.0.0.1:{port}",
         "--auth-key", ",".join(KEYS), "--log-level", "ERROR"],
        stdout=subprocess.DEVNULL,
        env={**os.environ, "RCLONE_CONFIG": str(tmp_path / "rclone.conf")},
    )  # fmt: skip
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.get(endpoint, timeout=1)
            break
        except httpx.TransportError:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise
            time.sleep(0.05)
    yield endpoint
    proc.terminate()
    proc.wait(10)


def writer(endpoint: str) -> Callable[[str, bytes, str], None]:
    client = boto3.client(
        "s3", region_name="us-east-1", endpoint_url=endpoint, aws_access_key_id=KEYS[0],
        aws_secret_access_key=KEYS[1], config=Config(s3={"addressing_style": "path"}),
    )  # fmt: skip

    def write(key: str, data: bytes, content_type: str) -> None:
        client.put_object(Bucket=BUCKET, Key=key, Body=data, ContentType=content_type)

    return write


def with_query(url: str, **changes: str) -> str:
    """`url` with some query parameters replaced (the rest as they were, in order)."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query)) | changes
    return parts._replace(query=urlencode(query, quote_via=quote, safe="-_.~")).geturl()


def test_every_url_is_one_the_store_verifies(make_server: Any, rclone: str) -> None:
    server: RunningServer = make_server("sqlite", workers=False)
    acct = new_account(server)
    client = sdk_for(server, acct.api_key)
    view = client.storage.set(
        {"provider": "aws", "bucket_name": BUCKET, "region": "us-east-1", "endpoint_url": rclone,
         "access_key_id": KEYS[0], "secret_key": KEYS[1]}
    )  # fmt: skip
    seeded = seed_bot(server.container, acct.account_id, **custom_pin(view), write=writer(rclone))

    fetched = fetch_all(client, server.api, acct.api_key, seeded.bot_id, lambda url: httpx.get(url, timeout=30))

    assert by_key(fetched, seeded) == seeded.data
    audio_url, video_url = fetched["audio"][0], fetched["video"][0]
    query = dict(parse_qsl(urlsplit(audio_url).query))
    assert query["X-Amz-Credential"].startswith(f"{KEYS[0]}/") and query["X-Amz-Expires"] == "3600"
    assert with_query(audio_url) == audio_url
    # Each part is signed: the store refuses the URL once any of them is changed.
    signature = query["X-Amz-Signature"]
    tampered = {
        "signature": with_query(audio_url, **{"X-Amz-Signature": signature[::-1]}),
        "expiry": with_query(audio_url, **{"X-Amz-Expires": "7200"}),
        "key": video_url.split("?")[0] + "?" + audio_url.split("?")[1],
    }
    for what, url in tampered.items():
        assert httpx.get(url, timeout=30).status_code == 403, what
    assert httpx.get(audio_url, timeout=30).content == seeded.data[seeded.key("audio.mp3")]
