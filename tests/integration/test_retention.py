"""Retention: the account default (`PUT/GET/DELETE /admin/configs?config_type=retention`), the
bucket lifecycle rule, and expiry — a bot past its retention is erased like a deletion request
(spool copies of a failed upload included) and its fetches answer media_expired."""

from __future__ import annotations

from typing import Any

import httpx

from conftest import new_account, sdk_for
from support.moto_s3 import MotoS3, may_delete, read_write
from support.pipeline import bot_row, events, pinned_bot, storage_body, wait_done, wait_until
from support.servers import RunningServer

FILES = {"audio.mp3": b"ID3 keep me briefly" * 100, "chat.json": b'[{"text": "brief"}]'}


def call(server: RunningServer, api_key: str, method: str, path: str, **kw: Any) -> httpx.Response:
    return httpx.request(method, f"{server.api}{path}", headers={"Authorization": f"Token {api_key}"}, timeout=30, **kw)


def test_account_retention_is_saved_shown_and_removed(sqlite_server: RunningServer) -> None:
    acct = new_account(sqlite_server)
    key = acct.api_key

    saved = call(sqlite_server, key, "PUT", "/admin/configs?config_type=retention", json={"type": "timed", "hours": 36})
    assert saved.status_code == 200, saved.text
    assert saved.json() == {"type": "timed", "hours": 36.0}
    assert call(sqlite_server, key, "GET", "/admin/configs").json() == {"retention": {"type": "timed", "hours": 36.0}}

    forever = call(sqlite_server, key, "PUT", "/admin/configs?config_type=retention", json={"type": "forever"})
    assert forever.status_code == 200 and forever.json() == {"type": "forever"}

    for bad, field in (
        ({"type": "timed"}, "body"),
        ({"type": "timed", "hours": 0}, "hours"),
        ({"type": "timed", "hours": -1.5}, "hours"),
        ({"type": "forever", "hours": 3}, "body"),
        ({"type": "weekly"}, "type"),
        ({"type": "timed", "hours": 5, "bucket_name": "x"}, "bucket_name"),
    ):
        resp = call(sqlite_server, key, "PUT", "/admin/configs?config_type=retention", json=bad)
        assert resp.status_code == 400, (bad, resp.text)
        assert resp.json()["code"] == "invalid_request"
        assert resp.json()["errors"][0]["field"] == field, (bad, resp.json())
    # A storage body keeps its own validation and field names when the type says storage.
    resp = call(sqlite_server, key, "PUT", "/admin/configs?config_type=storage", json={"type": "forever"})
    assert resp.status_code == 400 and {e["field"] for e in resp.json()["errors"]} >= {"bucket_name", "type"}

    assert call(sqlite_server, key, "DELETE", "/admin/configs?key_name=retention").status_code == 200
    assert call(sqlite_server, key, "GET", "/admin/configs").json() == {}
    again = call(sqlite_server, key, "DELETE", "/admin/configs?key_name=retention")
    assert again.status_code == 404 and again.json()["code"] == "retention_not_configured"


def test_lifecycle_rule_matches_prefixes_and_days(sqlite_server: RunningServer, moto: MotoS3) -> None:
    bucket = moto.make_bucket()
    keys = moto.make_user(read_write(bucket, "meetstream", "media/video"))
    acct = new_account(sqlite_server)
    key = acct.api_key

    none = call(sqlite_server, key, "GET", "/admin/configs/lifecycle_rule")
    assert none.status_code == 404 and none.json()["code"] == "storage_not_configured"
    body = storage_body(moto.endpoint, bucket, keys, prefixes={"video": "media/video"})
    assert call(sqlite_server, key, "PUT", "/admin/configs?config_type=storage", json=body).status_code == 200
    forever = call(sqlite_server, key, "GET", "/admin/configs/lifecycle_rule")
    assert forever.status_code == 404 and forever.json()["code"] == "no_retention"

    call(sqlite_server, key, "PUT", "/admin/configs?config_type=retention", json={"type": "timed", "hours": 49})
    rule = call(sqlite_server, key, "GET", "/admin/configs/lifecycle_rule")
    assert rule.status_code == 200, rule.text
    rules = rule.json()["Rules"]
    assert [r["Filter"]["Prefix"] for r in rules] == ["meetstream/", "media/video/"]
    assert {r["Expiration"]["Days"] for r in rules} == {3}  # 49 h: rounded up to whole days
    # The document is what S3 itself takes (moto checks its shape).
    admin = moto.admin
    admin.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration=rule.json())
    got = admin.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert sorted(r["Filter"]["Prefix"] for r in got) == ["media/video/", "meetstream/"]

    root_keys = moto.make_user(read_write(bucket))
    rooted = storage_body(moto.endpoint, bucket, root_keys, prefix="")
    assert call(sqlite_server, key, "PUT", "/admin/configs?config_type=storage", json=rooted).status_code == 200
    refused = call(sqlite_server, key, "GET", "/admin/configs/lifecycle_rule")
    assert refused.status_code == 409 and refused.json()["code"] == "prefix_required"


def test_retention_pinned_at_hand_in_is_shown_in_detail(server: RunningServer) -> None:
    acct = new_account(server)
    call(server, acct.api_key, "PUT", "/admin/configs?config_type=retention", json={"type": "timed", "hours": 48})
    bot = pinned_bot(server.container, acct.account_id, FILES, callback_url=None)
    wait_done(server.container, bot.bot_id)
    # A later change of the default does not move a bot already handed in.
    call(server, acct.api_key, "PUT", "/admin/configs?config_type=retention", json={"type": "forever"})

    detail = sdk_for(server, acct.api_key).bots.detail(bot.bot_id)
    retention = detail["retention"]
    assert retention["type"] == "timed" and retention["hours"] == 48.0 and retention["expires_at"]
    assert "expired_at" not in detail or detail["expired_at"] is None


def test_expired_retention_erases_every_copy_and_fetch_says_media_expired(
    make_server: Any, backend: str, moto: MotoS3
) -> None:
    server = make_server(backend, retention_sweep_s=0.3)
    bucket = moto.make_bucket()
    keys = moto.make_user(read_write(bucket, "meetstream"))
    acct = new_account(server)
    client = sdk_for(server, acct.api_key)
    client.storage.set(storage_body(moto.endpoint, bucket, keys))
    grant = may_delete(bucket, "meetstream")
    moto.set_user_policy(keys[0], [*read_write(bucket, "meetstream"), grant])
    call(server, acct.api_key, "PUT", "/admin/configs?config_type=retention", json={"type": "timed", "hours": 0.002})

    uploaded = pinned_bot(server.container, acct.account_id, FILES, callback_url="https://example.com/hook")
    wait_done(server.container, uploaded.bot_id)
    assert len(moto.keys(bucket, "meetstream/")) == 3
    # A second bot whose uploads fail (the bucket refuses writes): its spool copies are kept...
    moto.set_user_policy(keys[0], [grant])
    failed = pinned_bot(server.container, acct.account_id, FILES, callback_url=None)
    wait_until(lambda: bot_row(server.container, failed.bot_id).status == "Done", 60, "uploads given up")
    assert set(server.container.spool.names(failed.bot_id)) >= {"audio.mp3", "chat.json"}

    # ... until the retention (7.2 s from hand-in) ends: then both bots are erased.
    for bot in (uploaded, failed):
        wait_until(lambda b=bot: bot_row(server.container, b.bot_id).deletion is not None, 60, "expired")
    assert moto.keys(bucket, "meetstream/") == []
    assert server.container.spool.names(failed.bot_id) == []

    for bot in (uploaded, failed):
        receipt = bot_row(server.container, bot.bot_id).deletion
        assert receipt is not None and receipt["reason"] == "retention" and receipt["status"] == "deleted"
        resp = call(server, acct.api_key, "GET", f"/bots/{bot.bot_id}/get_audio")
        assert resp.status_code == 404 and resp.json()["code"] == "media_expired", resp.text
        assert resp.json()["expired_at"]
        detail = client.bots.detail(bot.bot_id)
        assert detail["media_expired_at"] and detail["deletion"]["reason"] == "retention"
    spooled = {o["location"]: o["result"] for o in bot_row(server.container, failed.bot_id).deletion["objects"]}
    assert spooled["spool:audio.mp3"] == "deleted" and spooled["spool:chat.json"] == "deleted"
    webhook = [e for e in events(server.container, uploaded.bot_id) if e.get("event") == "data_deletion"]
    assert len(webhook) == 1 and webhook[0]["reason"] == "retention"
    assert webhook[0]["deletion"]["objects"]
