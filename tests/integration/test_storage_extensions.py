"""Beyond the anchors: AssumeRole with an external id, server-side encryption, deep diagnosis, health."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from meetstream import BadRequestError
from sqlalchemy import select

from meetstore.adapters.db.tables import WebhookEvent

from conftest import new_account, sdk_for
from support.bots import wait_status
from support.moto_s3 import MotoS3, make_role, put_only, read_write
from support.servers import RunningServer


def _base(moto: MotoS3, bucket: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "provider": "aws",
        "bucket_name": bucket,
        "region": "us-east-1",
        "endpoint_url": moto.endpoint,
    }
    body.update(extra)
    return body


def _role_server(
    make_server: Callable[..., RunningServer], moto: MotoS3, backend: str = "sqlite"
) -> RunningServer:
    platform = moto.make_user([{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}])
    from pydantic import SecretStr

    return make_server(
        backend,
        platform_aws_access_key_id=SecretStr(platform[0]),
        platform_aws_secret_access_key=SecretStr(platform[1]),
        sts_endpoint_url=moto.endpoint,
    )


def test_assume_role_with_generated_external_id(
    make_server: Callable[..., RunningServer], moto: MotoS3
) -> None:
    server = _role_server(make_server, moto)
    acct = new_account(server)
    headers = {"Authorization": f"Token {acct.api_key}"}
    ext = httpx.get(server.api + "/admin/configs/external_id", headers=headers).json()["external_id"]
    assert ext.startswith("ms-ext-") and len(ext) > 30
    assert httpx.get(server.api + "/admin/configs/external_id", headers=headers).json()["external_id"] == ext
    other = new_account(server, "other")
    other_ext = httpx.get(
        server.api + "/admin/configs/external_id", headers={"Authorization": f"Token {other.api_key}"}
    ).json()["external_id"]
    assert other_ext != ext

    bucket = moto.make_bucket()
    role = make_role(moto, ext, read_write(bucket, "meetstream"))
    client = sdk_for(server, acct.api_key)
    saved = client.storage.set(_base(moto, bucket, role_arn=role, session_duration_s=3600))
    assert saved["role_arn"] == role and saved["external_id"] == ext
    assert "access_key_id" not in saved and "secret_key" not in saved
    assert client.storage.get()["storage"]["external_id"] == ext

    # A role that trusts another external id cannot be assumed: 400 naming the external id to use.
    wrong = make_role(moto, "somebody-else", read_write(bucket, "meetstream"))
    with pytest.raises(BadRequestError) as err:
        client.storage.set(_base(moto, bucket, role_arn=wrong))
    assert err.value.body["operation"] == "AssumeRole"
    assert ext in err.value.body["message"]
    assert client.storage.get()["storage"]["role_arn"] == role


def test_role_and_keys_are_exclusive(sqlite_server: RunningServer, moto: MotoS3) -> None:
    client = sdk_for(sqlite_server, new_account(sqlite_server).api_key)
    with pytest.raises(BadRequestError) as err:
        client.storage.set(
            _base(
                moto,
                "some-bucket",
                role_arn="arn:aws:iam::123456789012:role/x",
                access_key_id="a",
                secret_key="b",
            )
        )
    assert err.value.body["errors"][0]["field"] == "role_arn"
    with pytest.raises(BadRequestError) as err:
        client.storage.set(_base(moto, "some-bucket", role_arn="not-an-arn"))
    assert err.value.body["errors"][0]["field"] == "role_arn"


@pytest.mark.parametrize("sse", ["AES256", "aws:kms"])
def test_server_side_encryption_on_every_probe(server: RunningServer, moto: MotoS3, sse: str) -> None:
    bucket = moto.make_bucket()
    keys = moto.make_user(put_only(bucket, "base", "audio"))
    client = sdk_for(server, new_account(server).api_key)
    extra: dict[str, Any] = {"server_side_encryption": sse}
    key_id = None
    if sse == "aws:kms":
        with moto.auth_off():
            key_id = moto.client("kms", ("testing", "testing")).create_key()["KeyMetadata"]["Arn"]
        extra["kms_key_id"] = key_id
    saved = client.storage.set(
        _base(
            moto,
            bucket,
            access_key_id=keys[0],
            secret_key=keys[1],
            access_mode="write_only",
            prefix="base",
            prefixes={"audio": "audio"},
            **extra,
        )
    )
    assert saved["server_side_encryption"] == sse
    probes = [k for k in moto.keys(bucket) if ".write_probe_" in k]
    assert len(probes) == 2
    for key in probes:
        head = moto.head(bucket, key)
        assert head["ServerSideEncryption"] == sse
        if key_id:
            assert head["SSEKMSKeyId"] == key_id


def test_kms_needs_a_key_id(sqlite_server: RunningServer, moto: MotoS3) -> None:
    client = sdk_for(sqlite_server, new_account(sqlite_server).api_key)
    with pytest.raises(BadRequestError) as err:
        client.storage.set(
            _base(moto, "some-bucket", access_key_id="a", secret_key="b", server_side_encryption="aws:kms")
        )
    assert err.value.body["errors"][0]["field"] == "kms_key_id"


def test_deep_diagnosis_names_missing_actions(server: RunningServer, moto: MotoS3) -> None:
    bucket = moto.make_bucket()
    keys = moto.make_user(put_only(bucket, "rec", "audio"))
    acct = new_account(server)
    resp = httpx.post(
        server.api + "/admin/configs/validate",
        params={"config_type": "storage", "deep": "true"},
        json=_base(
            moto, bucket, access_key_id=keys[0], secret_key=keys[1], prefix="rec", prefixes={"audio": "audio"}
        ),
        headers={"Authorization": f"Token {acct.api_key}"},
        timeout=60,
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["valid"] is False  # read_write needs s3:GetObject, which this policy lacks
    rows = {(r["prefix"], r["check"]): r for r in body["checks"]}
    for prefix in ("rec", "audio"):
        assert rows[(prefix, "PutObject")]["ok"] is True
        assert rows[(prefix, "MultipartUpload")]["ok"] is True
        get = rows[(prefix, "GetObject")]
        assert get["ok"] is False
        assert get["iam_action"] == "s3:GetObject"
        assert get["resource"] == f"arn:aws:s3:::{bucket}/{prefix}/*"
        assert get["s3_error"] == "AccessDenied"
        assert rows[(prefix, "DeleteObject")]["ok"] is False
    # The same policy is enough for write_only.
    resp = httpx.post(
        server.api + "/admin/configs/validate",
        params={"config_type": "storage", "deep": "true"},
        json=_base(
            moto,
            bucket,
            access_key_id=keys[0],
            secret_key=keys[1],
            prefix="rec",
            prefixes={"audio": "audio"},
            access_mode="write_only",
        ),
        headers={"Authorization": f"Token {acct.api_key}"},
        timeout=60,
    )
    assert resp.json()["valid"] is True
    assert sdk_for(server, acct.api_key).storage.get() == {}


def test_health_turns_unhealthy_and_queues_event(server: RunningServer, moto: MotoS3) -> None:
    bucket = moto.make_bucket()
    keys = moto.make_user(put_only(bucket, "meetstream"))
    acct = new_account(server)
    client = sdk_for(server, acct.api_key)
    client.storage.set(
        _base(
            moto,
            bucket,
            access_key_id=keys[0],
            secret_key=keys[1],
            access_mode="write_only",
            webhook_url="http://127.0.0.1:9/hooks",
        )
    )
    first = server.container.health.check(acct.account_id)
    assert first is not None and first["status"] == "healthy"
    assert client.storage.get()["storage"]["health"]["status"] == "healthy"
    assert moto.keys(bucket, "meetstream/.write_probe_health") == ["meetstream/.write_probe_health"]

    moto.set_user_policy(keys[0], put_only(bucket, "elsewhere"))
    second = server.container.health.check(acct.account_id)
    assert second is not None and second["status"] == "unhealthy"
    assert second["s3_error"] == "AccessDenied"
    health = client.storage.get()["storage"]["health"]
    assert health["status"] == "unhealthy" and "s3:PutObject" in health["message"]
    with server.container.db.session() as s:
        events = (
            s.execute(select(WebhookEvent).where(WebhookEvent.account_id == acct.account_id)).scalars().all()
        )
        assert [e.event for e in events] == ["storage.unhealthy"]
        payload = json.loads(events[0].body)
    assert payload["s3_error"] == "AccessDenied" and payload["bucket"] == bucket
    # Still unhealthy: no second event.
    server.container.health.check(acct.account_id)
    with server.container.db.session() as s:
        assert (
            len(s.execute(select(WebhookEvent).where(WebhookEvent.account_id == acct.account_id)).all()) == 1
        )


def test_bot_files_land_through_an_assumed_role(
    make_server: Callable[..., RunningServer], moto: MotoS3
) -> None:
    from support.pipeline import artifacts, leave, make_bot, spool, wait_done

    server = _role_server(make_server, moto)
    acct = new_account(server)
    ext = server.container.storage.external_id(acct.account_id)
    bucket = moto.make_bucket()
    role = make_role(moto, ext, read_write(bucket, "meetstream"))
    client = sdk_for(server, acct.api_key)
    client.storage.set(_base(moto, bucket, role_arn=role, server_side_encryption="AES256"))

    bot = make_bot(server.container, acct.account_id, callback_url=None)
    spool(server.container, bot, "audio.mp3", b"ID3 fake audio bytes")
    spool(server.container, bot, "chat.json", b"[]")
    leave(server.container, bot)
    wait_done(server.container, bot.bot_id)
    rows = artifacts(server.container, bot.bot_id)
    assert {r.state for r in rows.values()} == {"uploaded"}
    key = rows["audio.mp3"].key
    assert moto.objects(bucket, key)[key] == b"ID3 fake audio bytes"
    assert moto.head(bucket, key)["ServerSideEncryption"] == "AES256"
    url = client.bots.audio(bot.bot_id)["audio_url"]
    assert "X-Amz-Security-Token" in url  # signed with the assumed role's session credentials
    assert moto.get_presigned(url).content == b"ID3 fake audio bytes"


@pytest.mark.parametrize("mode", ["write_only", "read_write"])
def test_the_generated_minimum_policy_is_enough(server: RunningServer, moto: MotoS3, mode: str) -> None:
    """iam_policy's answer, attached as is to a new user (plus s3:HeadBucket, the name moto gives
    the HeadBucket check that AWS authorises as s3:ListBucket), passes validation and stores a bot."""
    bucket = moto.make_bucket()
    acct = new_account(server)
    api = httpx.Client(base_url=server.api, headers={"Authorization": f"Token {acct.api_key}"}, timeout=30)
    body = {"provider": "aws", "bucket_name": bucket, "region": "us-east-1", "access_mode": mode, "prefix": "meetstream"}
    policy = api.post("/admin/configs/iam_policy", json=body).json()["policy"]
    statements = policy["Statement"]
    if mode == "read_write":
        statements.append({"Effect": "Allow", "Action": ["s3:HeadBucket"], "Resource": [f"arn:aws:s3:::{bucket}"]})
    keys = moto.make_user(statements)
    client = sdk_for(server, acct.api_key)
    client.storage.set(_base(moto, bucket, access_key_id=keys[0], secret_key=keys[1], access_mode=mode))
    bot_id = client.bots.create({"meeting_link": "https://zoom.us/j/1", "recording_config": {"simulated": {"duration_s": 1}}})[
        "bot_id"
    ]
    wait_status(client, bot_id, {"Done"}, timeout=60)
    states = {a["state"] for a in client.bots.detail(bot_id)["storage"]["artifacts"]}
    assert states == {"uploaded"}
    assert moto.objects(bucket, "meetstream/")
