"""The spool on an S3 staging bucket (moto over HTTP, IAM enforced): files stream in sealed,
become part of the spool only when committed, read back by ranged GETs, and leave nothing
behind when a receipt is cut short or the bot is removed."""

from __future__ import annotations

import hashlib
import os

import pytest

from meetstore.adapters.crypto.stream import StreamDecryptionError
from meetstore.adapters.spool.s3 import PART_BYTES, S3Spool
from meetstore.errors import SpoolUnavailable

from support.moto_s3 import MotoS3, staging_policy

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
