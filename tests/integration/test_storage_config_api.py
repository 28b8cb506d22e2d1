"""Storage configuration through the official SDK, against moto with IAM enforced (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from meetstream import BadRequestError, NotFoundError

from conftest import new_account, sdk_for
from support.moto_s3 import MotoS3, put_only, read_write
from support.servers import RunningServer


def body(moto: MotoS3, bucket: str, keys: tuple[str, str], **extra: Any) -> dict[str, Any]:
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


def test_read_write_round_trip(server: RunningServer, moto: MotoS3) -> None:
    bucket = moto.make_bucket()
    keys = moto.make_user(read_write(bucket, "meetstream"))
    acct = new_account(server)
    client = sdk_for(server, acct.api_key)

    assert client.storage.get() == {}
    saved = client.storage.set(body(moto, bucket, keys))
    assert saved["bucket_name"] == bucket
    assert saved["access_mode"] == "read_write"
    assert saved["prefix"] == "meetstream"
    assert saved["prefixes"] == {k: "meetstream" for k in ("audio", "video", "transcript", "metadata")}
    assert saved["version"] == 1
    for secret_field in ("access_key_id", "secret_key"):
        assert secret_field not in saved
    text = httpx.get(server.api + "/admin/configs", headers={"Authorization": f"Token {acct.api_key}"}).text
    assert keys[0] not in text and keys[1] not in text

    got = client.storage.get()
    assert got == {"storage": saved}

    assert client.storage.delete() == {}
    assert client.storage.get() == {}
    with pytest.raises(NotFoundError) as err:
        client.storage.delete()
    assert err.value.body["code"] == "storage_not_configured"


def test_write_only_probes_each_distinct_prefix(server: RunningServer, moto: MotoS3) -> None:
    bucket = moto.make_bucket()
    prefixes = {"audio": "rec/audio", "video": "/rec//video/", "transcript": "transcripts"}
    keys = moto.make_user(put_only(bucket, "base", "rec/audio", "rec/video", "transcripts"))
    client = sdk_for(server, new_account(server).api_key)

    saved = client.storage.set(
        body(moto, bucket, keys, access_mode="write_only", prefix="base", prefixes=prefixes)
    )
    assert saved["prefixes"] == {
        "audio": "rec/audio",
        "video": "rec/video",
        "transcript": "transcripts",
        "metadata": "base",
    }
    probes = [k for k in moto.keys(bucket) if ".write_probe_" in k]
    folders = sorted(k.rsplit("/", 1)[0] for k in probes)
    assert folders == ["base", "rec/audio", "rec/video", "transcripts"]


def test_write_only_policy_missing_one_prefix(server: RunningServer, moto: MotoS3) -> None:
    bucket = moto.make_bucket()
    keys = moto.make_user(put_only(bucket, "base", "rec/audio"))
    client = sdk_for(server, new_account(server).api_key)
    with pytest.raises(BadRequestError) as err:
        client.storage.set(
            body(moto, bucket, keys, access_mode="write_only", prefix="base", prefixes={"video": "rec/video"})
        )
    b = err.value.body
    assert b["code"] == "storage_validation_failed"
    assert b["s3_error"] == "AccessDenied"
    assert b["operation"] == "PutObject"
    assert b["key"].startswith("rec/video/.write_probe_")
    assert f"s3:PutObject on arn:aws:s3:::{bucket}/rec/video/*" in b["message"]
    assert client.storage.get() == {}


@pytest.mark.parametrize(
    "case,expected",
    [
        ("wrong_secret", "SignatureDoesNotMatch"),
        ("unknown_key", "InvalidAccessKeyId"),
        ("missing_bucket", "NoSuchBucket"),
        ("put_only_user", "AccessDenied"),
    ],
)
def test_read_write_validation_failures_keep_old_config(
    server: RunningServer, moto: MotoS3, case: str, expected: str
) -> None:
    bucket = moto.make_bucket()
    good = moto.make_user(read_write(bucket, "meetstream"))
    client = sdk_for(server, new_account(server).api_key)
    before = client.storage.set(body(moto, bucket, good))

    bad_bucket = bucket
    if case == "wrong_secret":
        keys = (good[0], "x" * 40)
    elif case == "unknown_key":
        keys = ("AKIAUNKNOWNUNKNOWN00", "y" * 40)
    elif case == "missing_bucket":
        bad_bucket = "no-such-bucket-" + bucket[-8:]
        keys = moto.make_user(read_write(bad_bucket, "meetstream"))
    else:
        keys = moto.make_user(put_only(bucket, "meetstream"))
    with pytest.raises(BadRequestError) as err:
        client.storage.set(body(moto, bad_bucket, keys))
    b = err.value.body
    assert b["code"] == "storage_validation_failed"
    assert b["s3_error"] == expected
    assert b["operation"] == "HeadBucket"
    assert keys[1] not in str(b) and keys[0] not in b["message"]
    assert client.storage.get() == {"storage": before}


def test_validate_endpoint_saves_nothing(server: RunningServer, moto: MotoS3) -> None:
    bucket = moto.make_bucket()
    keys = moto.make_user(read_write(bucket, "meetstream"))
    acct = new_account(server)
    resp = httpx.post(
        server.api + "/admin/configs/validate",
        params={"config_type": "storage"},
        json=body(moto, bucket, keys),
        headers={"Authorization": f"Token {acct.api_key}"},
    )
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"valid": True, "checks": [{"operation": "HeadBucket", "ok": True}]}
    assert sdk_for(server, acct.api_key).storage.get() == {}


def test_other_account_sees_nothing(server: RunningServer, moto: MotoS3) -> None:
    bucket = moto.make_bucket()
    keys = moto.make_user(read_write(bucket, "meetstream"))
    a = sdk_for(server, new_account(server, "a").api_key)
    b = sdk_for(server, new_account(server, "b").api_key)
    a.storage.set(body(moto, bucket, keys))
    assert b.storage.get() == {}
    with pytest.raises(NotFoundError):
        b.storage.delete()
    assert a.storage.get()["storage"]["bucket_name"] == bucket


def test_saving_again_bumps_version(server: RunningServer, moto: MotoS3) -> None:
    bucket = moto.make_bucket()
    keys = moto.make_user(read_write(bucket, "meetstream", "other"))
    client = sdk_for(server, new_account(server).api_key)
    first = client.storage.set(body(moto, bucket, keys))
    second = client.storage.set(body(moto, bucket, keys, prefix="other"))
    assert (first["version"], second["version"]) == (1, 2)
    assert second["prefix"] == "other"
    assert second["created_at"] == first["created_at"]
