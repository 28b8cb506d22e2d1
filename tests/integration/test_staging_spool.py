"""The spool on an S3 staging bucket (moto over HTTP, IAM enforced): files stream in sealed,
become part of the spool only when committed, read back by ranged GETs, and leave nothing
behind when a receipt is cut short or the bot is removed."""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Callable

import httpx
import pytest

from meetstore.adapters.crypto.stream import StreamDecryptionError
from meetstore.adapters.spool.s3 import PART_BYTES, S3Spool
from meetstore.container import runtime_token
from meetstore.errors import SpoolUnavailable

from conftest import new_account, sdk_for
from support.bots import bot_params
from support.moto_s3 import MotoS3, read_only, read_write, staging_policy
from support.pipeline import artifacts, pinned_bot, storage_body, wait_done, wait_until
from support.servers import RunningServer

KEY = os.urandom(32)
BOT = "5f0c1b9e-6a1d-4c3e-9f7a-2b8d0e4c6a11"


@pytest.fixture
def staging(moto: MotoS3) -> tuple[S3Spool, str]:
    bucket = moto.make_bucket()
    keys = moto.make_user(staging_policy(bucket, "staging"))
    return S3Spool(moto.client("s3", keys), bucket, "staging"), bucket


def _receive(spool: S3Spool, name: str, data: bytes, piece: int = 1024 * 1024) -> None:
    writer = spool.begin(BOT, name, KEY)
    for i in range(0, len(data), piece):
        writer.write(data[i : i + piece])
    writer.finish()
    spool.commit(writer)


def test_a_large_file_streams_in_sealed_and_reads_back(staging: tuple[S3Spool, str], moto: MotoS3) -> None:
    spool, bucket = staging
    data = os.urandom(2 * PART_BYTES + 12345)  # three parts of a multipart upload
    _receive(spool, "video.mp4", data)

    files = spool.files(BOT, lambda n: True, KEY)
    assert files["video.mp4"].size == len(data)
    assert files["video.mp4"].sha256 == hashlib.sha256(data).hexdigest()
    with spool.open(BOT, "video.mp4", KEY) as f:
        assert f.size == len(data)
        f.seek(PART_BYTES - 10)
        assert f.read(100) == data[PART_BYTES - 10 : PART_BYTES + 90]
        f.seek(0)
        assert f.read() == data
    staged = moto.objects(bucket, "staging/")
    sealed = [body for key, body in staged.items() if key.endswith("/video.mp4")]
    assert len(sealed) == 1 and data[:4096] not in sealed[0] and data[-4096:] not in sealed[0]
    assert not moto.admin.list_multipart_uploads(Bucket=bucket).get("Uploads")


def test_a_file_is_not_in_the_spool_until_committed_and_an_abort_keeps_nothing(
    staging: tuple[S3Spool, str], moto: MotoS3
) -> None:
    spool, bucket = staging
    writer = spool.begin(BOT, "audio.mp3", KEY)
    writer.write(os.urandom(PART_BYTES + 1))  # one part sent: a multipart upload is open
    assert moto.admin.list_multipart_uploads(Bucket=bucket).get("Uploads")
    assert spool.files(BOT, lambda n: True, KEY) == {}
    writer.abort()  # the body was shorter than its Content-Length
    assert not moto.admin.list_multipart_uploads(Bucket=bucket).get("Uploads")
    assert moto.keys(bucket, "staging/") == []

    finished = spool.begin(BOT, "chat.json", KEY)
    finished.write(b'[{"text": "hi"}]')
    finished.finish()
    assert not spool.exists(BOT, "chat.json")  # whole in staging, not yet part of the spool
    assert spool.commit(finished) is False
    assert spool.exists(BOT, "chat.json")


def test_replacing_a_file_leaves_one_object_and_remove_bot_leaves_none(staging: tuple[S3Spool, str], moto: MotoS3) -> None:
    spool, bucket = staging
    _receive(spool, "chat.json", b"[1]")
    _receive(spool, "chat.json", b"[2]")
    assert spool.read_small(BOT, "chat.json", 100, KEY) == b"[2]"
    assert len([k for k in moto.keys(bucket, "staging/") if k.endswith("/chat.json")]) == 1
    spool.write_small(BOT, "manifest.json", b'{"bot": 1}', KEY)
    _receive(spool, "screenshots/00001.png", b"\x89PNG")
    assert spool.names(BOT) == ["chat.json", "manifest.json", "screenshots/00001.png"]
    spool.delete(BOT, "chat.json")
    assert spool.names(BOT) == ["manifest.json", "screenshots/00001.png"]
    spool.remove_bot(BOT)
    assert moto.keys(bucket, "staging/") == [] and spool.names(BOT) == []


def test_a_wrong_key_or_a_tampered_object_never_reads(staging: tuple[S3Spool, str], moto: MotoS3) -> None:
    spool, bucket = staging
    _receive(spool, "audio.mp3", os.urandom(300_000))
    with pytest.raises(StreamDecryptionError), spool.open(BOT, "audio.mp3", os.urandom(32)) as f:
        f.read(10)
    (key,) = [k for k in moto.keys(bucket, "staging/") if k.endswith("/audio.mp3")]
    body = bytearray(moto.admin.get_object(Bucket=bucket, Key=key)["Body"].read())
    body[200_000] ^= 1
    moto.admin.put_object(Bucket=bucket, Key=key, Body=bytes(body))
    with spool.open(BOT, "audio.mp3", KEY) as f:
        assert len(f.read(100_000)) == 100_000  # the chunks before the damage open
        with pytest.raises(StreamDecryptionError):
            f.read()


def test_a_staging_bucket_that_refuses_is_unavailable_never_a_lost_file(moto: MotoS3) -> None:
    bucket = moto.make_bucket()
    keys = moto.make_user([{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": [f"arn:aws:s3:::{bucket}/*"]}])
    spool = S3Spool(moto.client("s3", keys), bucket, "staging")
    writer = spool.begin(BOT, "chat.json", KEY)
    writer.write(b"[]")
    with pytest.raises(SpoolUnavailable) as caught:
        writer.finish()
    assert "AccessDenied" in str(caught.value) and keys[1] not in str(caught.value)


FILES = {"audio.mp3": b"ID3 the quarterly numbers " * 4000, "chat.json": b'[{"text": "the quarterly numbers"}]'}


def _staged_server(make_server: Callable[..., RunningServer], moto: MotoS3, backend: str) -> tuple[RunningServer, str]:
    staging = moto.make_bucket()
    access, secret = moto.make_user(staging_policy(staging, "staging"))
    server = make_server(
        backend,
        spool=f"s3://{staging}/staging",
        spool_s3_endpoint_url=moto.endpoint,
        spool_s3_access_key_id=access,
        spool_s3_secret_access_key=secret,
    )
    return server, staging


def test_a_failed_upload_waits_sealed_in_staging_and_retry_or_erasure_reach_it(
    make_server: Callable[..., RunningServer], moto: MotoS3, backend: str
) -> None:
    server, staging = _staged_server(make_server, moto, backend)
    bucket = moto.make_bucket()
    keys = moto.make_user(read_write(bucket, "meetstream"))
    acct = new_account(server)
    client = sdk_for(server, acct.api_key)
    client.storage.set(storage_body(moto.endpoint, bucket, keys))
    moto.set_user_policy(keys[0], read_only(bucket))  # every upload fails for good
    retried = pinned_bot(server.container, acct.account_id, FILES, callback_url=None)
    erased = pinned_bot(server.container, acct.account_id, FILES, callback_url=None)
    for bot in (retried, erased):
        wait_done(server.container, bot.bot_id)
        assert {a.state for a in artifacts(server.container, bot.bot_id).values()} == {"failed"}
    staged = moto.objects(staging, "staging/")
    assert staged and all(b"quarterly" not in body for body in staged.values())

    # The customer fixes the policy; retry_uploads sends the staged copies (any process could).
    moto.set_user_policy(keys[0], read_write(bucket, "meetstream"))
    answer = httpx.post(
        f"{server.api}/bots/{retried.bot_id}/retry_uploads", headers={"Authorization": f"Token {acct.api_key}"}, timeout=30
    )
    assert answer.status_code == 202 and answer.json() == {"retrying": 3}, answer.text
    wait_until(
        lambda: {a.state for a in artifacts(server.container, retried.bot_id).values()} == {"uploaded"}, 60, "the retry"
    )
    for name, data in FILES.items():
        assert moto.objects(bucket, "meetstream/")[f"meetstream/{retried.bot_id}_{name}"] == data
    wait_until(lambda: not moto.keys(staging, f"staging/{retried.bot_id}/"), 30, "the retried bot's staged copies deleted")

    # Erasure reaches the other bot's staged copies, lists them, and destroys its key.
    assert moto.keys(staging, f"staging/{erased.bot_id}/")
    receipt = client.bots.delete_data(erased.bot_id)["deletion"]
    spooled = {o["location"]: o["result"] for o in receipt["objects"] if o["location"].startswith("spool:")}
    assert spooled == {"spool:audio.mp3": "deleted", "spool:chat.json": "deleted", "spool:manifest.json": "deleted"}
    assert receipt["spool_key"] == "destroyed" and receipt["status"] == "deleted"
    assert moto.keys(staging, f"staging/{erased.bot_id}/") == []


def test_a_body_cut_short_keeps_nothing_in_staging(make_server: Callable[..., RunningServer], moto: MotoS3) -> None:
    """Over HTTP, through the ingest API: 9 MiB of a declared 20 arrive (one part sent, a
    multipart upload open), then the runtime goes away. Nothing stays in staging."""
    staging = moto.make_bucket()
    access, secret = moto.make_user(staging_policy(staging, "staging"))
    server = make_server(
        "sqlite",
        bot_runtime="external",
        upload_worker=False,
        spool=f"s3://{staging}/staging",
        spool_s3_endpoint_url=moto.endpoint,
        spool_s3_access_key_id=access,
        spool_s3_secret_access_key=secret,
    )
    bot_id = sdk_for(server, new_account(server).api_key).bots.create(bot_params(1.0))["bot_id"]
    claim = httpx.post(
        f"{server.url}/internal/v1/bots/{bot_id}/claim",
        headers={"Authorization": f"Bearer {runtime_token(server.container.settings)}"},
        timeout=30,
    )
    token = claim.json()["runtime_credential"]
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        head = (
            f"PUT /internal/v1/bots/{bot_id}/files/audio.mp3 HTTP/1.1\r\n"
            f"Host: 127.0.0.1\r\nAuthorization: Bearer {token}\r\nContent-Length: {20 * 1024 * 1024}\r\n\r\n"
        )
        sock.sendall(head.encode())
        sent = 0
        while sent < 9 * 1024 * 1024:
            sock.sendall(os.urandom(1024 * 1024))
            sent += 1024 * 1024
        wait_until(lambda: bool(moto.admin.list_multipart_uploads(Bucket=staging).get("Uploads")), 30, "a part sent")
    wait_until(lambda: not moto.admin.list_multipart_uploads(Bucket=staging).get("Uploads"), 30, "the receipt aborted")
    assert moto.keys(staging, "staging/") == []
    assert server.container.spool.names(bot_id) == []
