"""Erasure through the SDK (`bots.delete_data`): the platform store, a customer bucket with and
without s3:DeleteObject (moto, IAM enforced), and what fetch, retry and detail answer afterwards."""

from __future__ import annotations

import os

import httpx
import pytest

from meetstore.adapters.crypto.stream import StreamDecryptionError, decrypt_bytes
from meetstore.errors import SpoolKeyUnavailable

from conftest import new_account, sdk_for
from support.bots import spool_bytes
from support.moto_s3 import MotoS3, may_delete, read_write
from support.pipeline import artifacts, events, pinned_bot, storage_body, wait_done
from support.servers import RunningServer

FILES = {"audio.mp3": b"ID3 erase me" * 100, "chat.json": b'[{"text": "secret"}]'}


def get(server: RunningServer, api_key: str, path: str) -> httpx.Response:
    return httpx.get(f"{server.api}{path}", headers={"Authorization": f"Token {api_key}"}, timeout=30)


def test_platform_bot_is_erased_with_a_receipt(server: RunningServer) -> None:
    acct = new_account(server)
    client = sdk_for(server, acct.api_key)
    bot = pinned_bot(server.container, acct.account_id, FILES, callback_url=None)
    wait_done(server.container, bot.bot_id)
    keys = {a.key for a in artifacts(server.container, bot.bot_id).values()}
    store = server.container.platform.store

    answer = client.bots.delete_data(bot.bot_id)

    receipt = answer["deletion"]
    assert answer["success"] is True and receipt["status"] == "deleted" and receipt["reason"] == "request"
    platform = {o["location"]: o["result"] for o in receipt["objects"] if o["location"].startswith("platform:")}
    assert platform == {f"platform:{k}": "deleted" for k in keys}
    assert all(not store.keys_under(k) for k in keys)
    assert server.container.spool.names(bot.bot_id) == []
    # Every fetch endpoint now answers media_deleted; status and detail stay.
    for path in ("get_audio", "get_chats", "get_manifest", "get_video", "get_screenshots"):
        resp = get(server, acct.api_key, f"/bots/{bot.bot_id}/{path}")
        assert resp.status_code == 404 and resp.json()["code"] == "media_deleted", (path, resp.text)
        assert resp.json()["deleted_at"]
    detail = client.bots.detail(bot.bot_id)
    shown = detail["deletion"]
    shown["objects"] = [{k: v for k, v in o.items() if v is not None} for o in shown["objects"]]
    assert shown == receipt and detail["storage"]["artifacts"] == []
    assert detail["deleted_at"] and detail["meeting_url"] == ""
    retry = httpx.post(
        f"{server.api}/bots/{bot.bot_id}/retry_uploads", headers={"Authorization": f"Token {acct.api_key}"}, timeout=30
    )
    assert retry.status_code == 409 and retry.json()["code"] == "media_deleted"
    # Repeating a finished erasure answers the same receipt (MeetStream's GET spelling too).
    again = get(server, acct.api_key, f"/bots/{bot.bot_id}/delete_data")
    assert again.status_code == 200 and again.json()["deletion"] == receipt


def test_customer_bucket_without_delete_permission_is_partial_then_retried(
    server: RunningServer, moto: MotoS3
) -> None:
    bucket = moto.make_bucket()
    keys = moto.make_user(read_write(bucket, "meetstream"))
    acct = new_account(server)
    client = sdk_for(server, acct.api_key)
    client.storage.set(storage_body(moto.endpoint, bucket, keys))
    bot = pinned_bot(server.container, acct.account_id, FILES, callback_url=None)
    wait_done(server.container, bot.bot_id)
    stored = set(moto.keys(bucket, "meetstream/"))
    assert len(stored) == 3  # audio, chat, manifest

    first = client.bots.delete_data(bot.bot_id)["deletion"]

    assert first["status"] == "partial"
    in_bucket = {o["location"]: o for o in first["objects"] if o["location"].startswith("s3://")}
    assert set(in_bucket) == {f"s3://{bucket}/{k}" for k in stored}
    for o in in_bucket.values():
        assert o["result"] == "left_in_bucket" and o["reason"] == "denied"
        assert o["s3_error"] == "AccessDenied" and o["iam_action"] == "s3:DeleteObject"
    assert set(moto.keys(bucket, "meetstream/")) == stored  # really left
    assert {o["result"] for o in first["objects"] if o["location"].startswith("spool:")} <= {"deleted", "not_found"}

    # The customer grants s3:DeleteObject; repeating the call retries what was left.
    moto.set_user_policy(keys[0], [*read_write(bucket, "meetstream"), may_delete(bucket, "meetstream")])
    second = client.bots.delete_data(bot.bot_id)["deletion"]
    assert second["status"] == "deleted", second["objects"]
    assert moto.keys(bucket, "meetstream/") == []
    assert {o["location"] for o in second["objects"]} == {o["location"] for o in first["objects"]}


def test_scope_platform_leaves_the_bucket_and_a_live_bot_is_refused(server: RunningServer, moto: MotoS3) -> None:
    bucket = moto.make_bucket()
    keys = moto.make_user(read_write(bucket, "meetstream"))
    acct = new_account(server)
    client = sdk_for(server, acct.api_key)
    client.storage.set(storage_body(moto.endpoint, bucket, keys))
    bot = pinned_bot(server.container, acct.account_id, FILES, callback_url=None)
    wait_done(server.container, bot.bot_id)

    resp = httpx.delete(
        f"{server.api}/bots/{bot.bot_id}/delete?scope=platform",
        headers={"Authorization": f"Token {acct.api_key}"},
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    left = [o for o in resp.json()["deletion"]["objects"] if o["location"].startswith("s3://")]
    assert left and all(o["result"] == "left_in_bucket" and o["reason"] == "scope" for o in left)
    assert len(moto.keys(bucket, "meetstream/")) == 3

    bad = httpx.delete(
        f"{server.api}/bots/{bot.bot_id}/delete?scope=everything",
        headers={"Authorization": f"Token {acct.api_key}"},
        timeout=30,
    )
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_request"

    live = client.bots.create({"meeting_link": "https://zoom.us/j/1", "bot_name": "live"})
    refused = httpx.delete(
        f"{server.api}/bots/{live['bot_id']}/delete", headers={"Authorization": f"Token {acct.api_key}"}, timeout=30
    )
    assert refused.status_code == 409 and refused.json()["code"] == "bot_in_meeting"


@pytest.mark.parametrize("path", ["/bots/00000000-0000-0000-0000-000000000000/delete", "/bots/nope/delete"])
def test_unknown_bot_is_404(sqlite_server: RunningServer, path: str) -> None:
    acct = new_account(sqlite_server)
    resp = httpx.delete(f"{sqlite_server.api}{path}", headers={"Authorization": f"Token {acct.api_key}"}, timeout=30)
    assert resp.status_code == 404 and resp.json()["code"] == "bot_not_found"


def test_versioned_bucket_keeps_versions_until_the_policy_allows_deleting_them(
    server: RunningServer, moto: MotoS3
) -> None:
    bucket = moto.make_bucket()
    moto.admin.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    keys = moto.make_user(read_write(bucket, "meetstream"))
    acct = new_account(server)
    client = sdk_for(server, acct.api_key)
    client.storage.set(storage_body(moto.endpoint, bucket, keys))
    bot = pinned_bot(server.container, acct.account_id, FILES, callback_url=None)
    wait_done(server.container, bot.bot_id)
    stored = set(moto.keys(bucket, "meetstream/"))
    moto.set_user_policy(keys[0], [*read_write(bucket, "meetstream"), may_delete(bucket, "meetstream")])

    first = client.bots.delete_data(bot.bot_id)["deletion"]

    # The current objects are gone (a delete marker hides them), their versions are not.
    in_bucket = [o for o in first["objects"] if o["location"].startswith("s3://")]
    assert {o["location"] for o in in_bucket} == {f"s3://{bucket}/{k}" for k in stored}
    assert all(o["result"] == "delete_marker" for o in in_bucket), in_bucket
    assert first["status"] == "partial"
    assert moto.keys(bucket, "meetstream/") == []
    versions = moto.admin.list_object_versions(Bucket=bucket, Prefix="meetstream/")
    assert {v["Key"] for v in versions.get("Versions", [])} == stored

    versions_too = may_delete(bucket, "meetstream", "s3:ListBucketVersions", "s3:DeleteObjectVersion")
    moto.set_user_policy(keys[0], [*read_write(bucket, "meetstream"), versions_too])
    second = client.bots.delete_data(bot.bot_id)["deletion"]
    assert second["status"] == "deleted", second["objects"]
    left = moto.admin.list_object_versions(Bucket=bucket, Prefix="meetstream/")
    assert left.get("Versions", []) == [] and left.get("DeleteMarkers", []) == []


def test_a_failed_upload_whose_spool_copy_is_gone_is_erased_with_not_found(server: RunningServer, moto: MotoS3) -> None:
    bucket = moto.make_bucket()
    keys = moto.make_user(read_write(bucket, "meetstream"))
    acct = new_account(server)
    client = sdk_for(server, acct.api_key)
    client.storage.set(storage_body(moto.endpoint, bucket, keys))
    # The customer's policy loses s3:PutObject: every upload fails (reading and listing still work).
    read_only = [
        {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": [f"arn:aws:s3:::{bucket}"]},
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": [f"arn:aws:s3:::{bucket}/*"]},
    ]
    moto.set_user_policy(keys[0], read_only)
    bot = pinned_bot(server.container, acct.account_id, FILES, callback_url="https://example.com/hook")
    wait_done(server.container, bot.bot_id)
    assert {a.state for a in artifacts(server.container, bot.bot_id).values()} == {"failed"}
    (server.container.settings.spool_dir / bot.bot_id / "audio.mp3").unlink()  # the disk lost it

    receipt = client.bots.delete_data(bot.bot_id)["deletion"]

    results = {o["location"]: o["result"] for o in receipt["objects"]}
    assert results["spool:audio.mp3"] == "not_found" and results["spool:chat.json"] == "deleted"
    # Never written to the bucket, and the listing shows it: not_found, no DeleteObject needed.
    assert {r for loc, r in results.items() if loc.startswith("s3://")} == {"not_found"}
    assert receipt["status"] == "deleted"
    assert server.container.spool.names(bot.bot_id) == []
    assert moto.keys(bucket, "meetstream/") == []
    # The data_deletion webhook carries the same receipt.
    sent = [e for e in events(server.container, bot.bot_id) if e.get("event") == "data_deletion"]
    assert len(sent) == 1 and sent[0]["deletion"] == receipt and sent[0]["reason"] == "request"
    assert sent[0]["bot_id"] == bot.bot_id


def test_erasure_destroys_the_spool_key_so_a_backup_of_the_spool_never_opens(server: RunningServer, moto: MotoS3) -> None:
    """A failed upload keeps its spooled copy; someone backs the spool up; the bot is erased. The
    backup is ciphertext under a key that no longer exists anywhere (crypto-shredding), and the
    receipt says so."""
    bucket = moto.make_bucket()
    keys = moto.make_user(read_write(bucket, "meetstream"))
    acct = new_account(server)
    client = sdk_for(server, acct.api_key)
    client.storage.set(storage_body(moto.endpoint, bucket, keys))
    moto.set_user_policy(keys[0], [{"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": [f"arn:aws:s3:::{bucket}"]}])
    bot = pinned_bot(server.container, acct.account_id, FILES, callback_url=None)
    wait_done(server.container, bot.bot_id)
    folder = server.container.settings.spool_dir / bot.bot_id
    backup = {name: (folder / name).read_bytes() for name in FILES}
    assert spool_bytes(server.container, bot.bot_id, "chat.json") == FILES["chat.json"]
    assert all(FILES[name] not in sealed for name, sealed in backup.items())

    receipt = client.bots.delete_data(bot.bot_id)["deletion"]

    assert receipt["spool_key"] == "destroyed"
    with pytest.raises(SpoolKeyUnavailable):
        server.container.spool_keys.data_key(acct.account_id, bot.bot_id)
    # A late "left" (a runtime that missed the erasure) makes no new key for the erased bot.
    server.container.handin.left(bot.bot_id)
    with server.container.transactions.read() as tx:
        assert tx.spool_keys.bot_key(bot.bot_id) is None
    with pytest.raises(StreamDecryptionError):  # and no other key opens the backup
        decrypt_bytes(os.urandom(32), "chat.json", backup["chat.json"])
    again = client.bots.delete_data(bot.bot_id)["deletion"]
    assert again["spool_key"] == "destroyed"
