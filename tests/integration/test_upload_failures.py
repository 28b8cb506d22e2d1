"""Uploads that fail: denied by the policy (then retried after the fix), transient errors with
backoff, a bucket no longer configured, and spool retention of failed files.

Real S3 (moto, IAM on), the app on a port with its in-process upload worker, SQLite and PostgreSQL.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

import httpx
from moto.server import ThreadedMotoServer

from conftest import new_account, sdk_for
from support.bots import spool_bytes
from support.moto_s3 import MotoS3, read_only, read_write
from support.pipeline import artifacts, bot_row, events, pinned_bot, storage_body, wait_done, wait_until
from support.servers import RunningServer, held_port

FILES = {
    "audio.mp3": b"ID3" + b"\x07" * 4000,
    "chat.json": b'[{"sender": "Ada", "text": "hello"}]',
    "screenshots/00001.png": b"\x89PNG\r\n\x1a\n" + b"\x08" * 500,
}


def retry(server: RunningServer, api_key: str, bot_id: str) -> httpx.Response:
    return httpx.post(
        f"{server.api}/bots/{bot_id}/retry_uploads", headers={"Authorization": f"Token {api_key}"}, timeout=30
    )


def test_put_denied_then_fixed_policy_and_retry(server: RunningServer, moto: MotoS3) -> None:
    bucket = moto.make_bucket()
    keys = moto.make_user(read_write(bucket, "meetstream"))
    acct = new_account(server)
    sdk_for(server, acct.api_key).storage.set(storage_body(moto.endpoint, bucket, keys))
    moto.set_user_policy(keys[0], read_only(bucket))  # the customer breaks the policy

    bot = pinned_bot(server.container, acct.account_id, FILES)
    wait_done(server.container, bot.bot_id)
    b = bot.bot_id
    spool = server.container.settings.spool_dir / b

    rows = artifacts(server.container, b)
    assert set(rows) == {*FILES, "manifest.json"}
    for name, row in rows.items():
        assert row.state == "failed", name
        assert row.last_error_code == "AccessDenied"
        assert row.last_error_operation == "PutObject"
        assert row.failed_at is not None and not row.spool_deleted
        assert (spool / name).is_file(), name  # kept for a retry
    assert f"s3:PutObject on arn:aws:s3:::{bucket}/meetstream/*" in rows["audio.mp3"].last_error_message
    assert spool_bytes(server.container, b, "audio.mp3") == FILES["audio.mp3"]
    assert moto.keys(bucket) == []

    evs = events(server.container, b)
    failed = [e for e in evs if e["event"] == "storage.upload_failed"]
    assert len(failed) == 4
    audio = next(e for e in failed if e["key"] == f"meetstream/{b}_audio.mp3")
    assert audio["s3_error"] == "AccessDenied" and audio["operation"] == "PutObject"
    assert audio["bucket"] == bucket
    assert f"s3:PutObject on arn:aws:s3:::{bucket}/meetstream/*" in audio["message"]
    assert evs[-1]["event"] == "bot.done"
    assert keys[1] not in str(evs)

    # Someone else's key, no key, an unknown bot: not found / not authenticated.
    other = new_account(server, "other")
    resp = retry(server, other.api_key, b)
    assert resp.status_code == 404 and resp.json()["code"] == "bot_not_found"
    resp = retry(server, acct.api_key, "4b1e1a5e-0000-4000-8000-000000000000")
    assert resp.status_code == 404 and resp.json()["code"] == "bot_not_found"
    assert httpx.post(f"{server.api}/bots/{b}/retry_uploads").status_code == 401
    assert artifacts(server.container, b)["audio.mp3"].state == "failed"

    moto.set_user_policy(keys[0], read_write(bucket, "meetstream"))  # the customer fixes it
    resp = retry(server, acct.api_key, b)
    assert resp.status_code == 202, resp.text
    assert resp.json() == {"retrying": 4}
    wait_done(server.container, b)

    stored = moto.objects(bucket)
    assert sorted(stored) == sorted(
        [
            f"meetstream/{b}_audio.mp3",
            f"meetstream/{b}_chat.json",
            f"meetstream/{b}_manifest.json",
            f"meetstream/{b}_screenshots/00001.png",
        ]
    )
    assert stored[f"meetstream/{b}_audio.mp3"] == FILES["audio.mp3"]
    assert stored[f"meetstream/{b}_screenshots/00001.png"] == FILES["screenshots/00001.png"]
    rows = artifacts(server.container, b)
    assert {r.state for r in rows.values()} == {"uploaded"}
    assert all(r.last_error_code is None and r.spool_deleted for r in rows.values())
    assert [e["event"] for e in events(server.container, b)].count("bot.done") == 2

    resp = retry(server, acct.api_key, b)
    assert resp.status_code == 409
    assert resp.json()["code"] == "nothing_to_retry"
    assert resp.json()["message"]


def test_bucket_no_longer_configured_fails_then_retry_after_restore(
    make_server: Callable[..., RunningServer], backend: str, moto: MotoS3
) -> None:
    server = make_server(backend, workers=False)
    bucket = moto.make_bucket()
    keys = moto.make_user(read_write(bucket, "meetstream"))
    acct = new_account(server)
    client = sdk_for(server, acct.api_key)
    client.storage.set(storage_body(moto.endpoint, bucket, keys))
    bot = pinned_bot(server.container, acct.account_id, {"audio.mp3": FILES["audio.mp3"]})
    client.storage.delete()  # before any upload ran

    from meetstore.worker.uploads import UploadWorker

    worker = UploadWorker(server.container.uploads, server.container.settings, 4)
    worker.run_once()
    done = bot_row(server.container, bot.bot_id)
    assert done.status == "Done"
    rows = artifacts(server.container, bot.bot_id)
    for row in rows.values():
        assert (row.state, row.last_error_code) == ("failed", "StorageNotAccessible")
        assert bucket in (row.last_error_message or "")
        assert "retry_uploads" in (row.last_error_message or "")
    assert moto.keys(bucket) == []

    resp = retry(server, acct.api_key, bot.bot_id)
    assert resp.status_code == 202 and resp.json() == {"retrying": 2}
    assert bot_row(server.container, bot.bot_id).status == "Stopped"  # not Done until final again
    worker.run_once()  # still not configured: failed again, still kept
    assert {r.state for r in artifacts(server.container, bot.bot_id).values()} == {"failed"}

    client.storage.set(storage_body(moto.endpoint, bucket, keys))  # restored: same bucket
    assert retry(server, acct.api_key, bot.bot_id).json() == {"retrying": 2}
    worker.run_once()
    assert bot_row(server.container, bot.bot_id).status == "Done"
    assert moto.objects(bucket)[f"meetstream/{bot.bot_id}_audio.mp3"] == FILES["audio.mp3"]


def test_transient_errors_back_off_then_fail_for_good(
    make_server: Callable[..., RunningServer], backend: str, moto: MotoS3
) -> None:
    # Bound, not listening: connection refused (a transient error), and no socket can take it.
    with held_port() as dead_port:
        server = make_server(
            backend,
            platform_store="s3://platform-bucket/base",
            platform_s3_endpoint_url=f"http://127.0.0.1:{dead_port}",
            platform_s3_access_key_id=moto.admin_keys[0],
            platform_s3_secret_access_key=moto.admin_keys[1],
            upload_max_attempts=3,
            upload_backoff_base_s=0.2,
            upload_backoff_max_s=0.4,
        )
        acct = new_account(server)
        bot = pinned_bot(server.container, acct.account_id, {"audio.mp3": FILES["audio.mp3"]})
        wait_done(server.container, bot.bot_id, timeout=30)

        rows = artifacts(server.container, bot.bot_id)
        audio = rows["audio.mp3"]
        assert (audio.state, audio.attempts, audio.last_error_code) == ("failed", 3, "EndpointUnreachable")
        assert "Gave up after 3 attempts" in (audio.last_error_message or "")
        assert audio.key == f"base/accounts/{acct.account_id}/meetstream/{bot.bot_id}_audio.mp3"
        assert (server.container.settings.spool_dir / bot.bot_id / "audio.mp3").is_file()


def test_transient_errors_are_retried_until_the_store_is_back(
    make_server: Callable[..., RunningServer], moto: MotoS3
) -> None:
    holder = socket.socket()  # the port is refused until the second moto binds it
    holder.bind(("127.0.0.1", 0))
    port = holder.getsockname()[1]
    bucket = moto.make_bucket()
    server = make_server(
        "sqlite",
        platform_store=f"s3://{bucket}",
        platform_s3_endpoint_url=f"http://127.0.0.1:{port}",
        platform_s3_access_key_id=moto.admin_keys[0],
        platform_s3_secret_access_key=moto.admin_keys[1],
        upload_max_attempts=50,
        upload_backoff_base_s=0.05,
        upload_backoff_max_s=0.2,
    )
    acct = new_account(server)
    bot = pinned_bot(server.container, acct.account_id, {"audio.mp3": FILES["audio.mp3"]})
    wait_until(
        lambda: artifacts(server.container, bot.bot_id)["audio.mp3"].attempts >= 2, 20, "two failed attempts"
    )
    audio = artifacts(server.container, bot.bot_id)["audio.mp3"]
    assert audio.state == "pending" and audio.last_error_code == "EndpointUnreachable"
    assert audio.next_attempt_at is not None

    holder.close()
    second = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)  # same S3 state
    second.start()
    try:
        wait_done(server.container, bot.bot_id, timeout=30)
    finally:
        second.stop()
    audio = artifacts(server.container, bot.bot_id)["audio.mp3"]
    assert audio.state == "uploaded" and audio.attempts >= 3
    assert (
        moto.objects(bucket)[f"accounts/{acct.account_id}/meetstream/{bot.bot_id}_audio.mp3"]
        == FILES["audio.mp3"]
    )


def test_failed_files_are_kept_for_the_retention_then_deleted(
    make_server: Callable[..., RunningServer], backend: str, moto: MotoS3
) -> None:
    server = make_server(backend, spool_retention_days=1.5 / 86400)  # 1.5 s
    bucket = moto.make_bucket()
    keys = moto.make_user(read_write(bucket, "meetstream"))
    acct = new_account(server)
    sdk_for(server, acct.api_key).storage.set(storage_body(moto.endpoint, bucket, keys))
    moto.set_user_policy(keys[0], read_only(bucket))
    bot = pinned_bot(server.container, acct.account_id, {"audio.mp3": FILES["audio.mp3"]})
    wait_done(server.container, bot.bot_id)
    spool = server.container.settings.spool_dir / bot.bot_id
    assert (spool / "audio.mp3").is_file()

    # The worker's janitor deletes them once the retention has passed.
    wait_until(
        lambda: all(r.spool_deleted for r in artifacts(server.container, bot.bot_id).values()),
        15,
        "spool janitor",
    )
    wait_until(lambda: not spool.exists(), 5, "the bot's spool folder removed")

    moto.set_user_policy(keys[0], read_write(bucket, "meetstream"))
    resp = retry(server, acct.api_key, bot.bot_id)
    assert resp.status_code == 409
    assert resp.json()["code"] == "nothing_to_retry"
    assert "retention" in resp.json()["message"]
    audio = artifacts(server.container, bot.bot_id)["audio.mp3"]
    assert audio.state == "failed" and audio.last_error_code == "AccessDenied"
    assert "cannot be retried" in (audio.last_error_message or "")
