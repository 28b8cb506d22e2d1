"""Console sessions over HTTP: the cookie, what the database keeps, CSRF and origin checks, the
idle timeout, and key revocation and rotation ending every session at once."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import httpx
import sqlalchemy as sa

from conftest import new_account, sdk_for
from support.bots import wait_status
from support.moto_s3 import MotoS3, put_only
from support.pipeline import storage_body
from support.servers import RunningServer


def client(server: RunningServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, follow_redirects=False, headers={"Origin": server.url}, timeout=30)


def signed_in(server: RunningServer, api_key: str) -> httpx.Client:
    c = client(server)
    resp = c.post("/console/sign-in", data={"api_key": api_key})
    assert resp.status_code == 303 and resp.headers["location"] == "/console/storage", resp.text
    return c


def csrf_of(c: httpx.Client) -> str:
    page = c.get("/console/bots")
    assert page.status_code == 200
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found is not None
    return found.group(1)


def test_the_cookie_and_what_the_database_keeps(sqlite_server: RunningServer) -> None:
    acct = new_account(sqlite_server)
    c = client(sqlite_server)
    resp = c.post("/console/sign-in", data={"api_key": acct.api_key})
    cookie = resp.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/console" in cookie
    token = resp.cookies["meetstore_console"]
    assert token not in resp.text and acct.api_key not in resp.text
    with sqlite_server.container.db.session() as s:
        rows = s.execute(sa.text("SELECT token_hash, account_id FROM console_sessions")).all()
        dump = repr(s.execute(sa.text("SELECT * FROM console_sessions")).all())
    assert [r.account_id for r in rows] == [acct.account_id]
    assert token not in dump and acct.api_key not in dump  # only the token's SHA-256 is kept
    page = c.get("/console/storage")
    assert page.status_code == 200 and acct.api_key not in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "'unsafe-inline'" not in page.headers["content-security-policy"]
    trail = sqlite_server.container.audit_views.page(acct.account_id, limit=10, action="console.signed_in")
    (event,) = trail.events
    assert event["action"] == "console.signed_in" and acct.api_key not in repr(event)


def test_a_wrong_key_is_refused_and_pages_need_a_session(sqlite_server: RunningServer) -> None:
    c = client(sqlite_server)
    resp = c.post("/console/sign-in", data={"api_key": "ms_not-a-key"})
    assert resp.status_code == 403 and "not valid" in resp.text and "set-cookie" not in resp.headers
    for path in ("/console/storage", "/console/bots", "/console/keys", "/console/bots/00000000-0000-0000-0000-000000000000"):
        resp = c.get(path)
        assert resp.status_code == 303 and resp.headers["location"] == "/console", path


def test_state_changes_need_the_csrf_token_and_this_origin(sqlite_server: RunningServer) -> None:
    acct = new_account(sqlite_server)
    c = signed_in(sqlite_server, acct.api_key)
    token = csrf_of(c)
    assert c.post("/console/bots/test", data={}).status_code == 403
    assert c.post("/console/bots/test", data={"csrf": "forged"}).status_code == 403
    other_site = c.post("/console/bots/test", data={"csrf": token}, headers={"Origin": "https://evil.example"})
    assert other_site.status_code == 403
    assert sqlite_server.container.bots.list(acct.account_id).bots == ()
    made = c.post("/console/bots/test", data={"csrf": token})
    assert made.status_code == 303 and made.headers["location"].startswith("/console/bots/")


def test_a_session_ends_after_its_idle_time(make_server: Callable[..., RunningServer]) -> None:
    server = make_server("sqlite", console_idle_s=1.0)
    acct = new_account(server)
    c = signed_in(server, acct.api_key)
    assert c.get("/console/keys").status_code == 200
    time.sleep(1.5)
    assert c.get("/console/keys").headers.get("location") == "/console"


def test_revoking_or_rotating_the_key_ends_its_sessions(sqlite_server: RunningServer) -> None:
    acct = new_account(sqlite_server)
    a, b = signed_in(sqlite_server, acct.api_key), signed_in(sqlite_server, acct.api_key)
    page = a.get("/console/keys")
    assert page.status_code == 200 and acct.api_key not in page.text
    rotated = a.post("/console/keys/rotate", data={"csrf": csrf_of(a)})
    new_key = re.search(r'value="(ms_[^"]+)"', rotated.text)
    assert rotated.status_code == 200 and new_key is not None
    for session in (a, b):  # both were opened with the old key
        assert session.get("/console/bots").headers.get("location") == "/console"
    c = signed_in(sqlite_server, new_key.group(1))
    asked = c.post("/console/keys/revoke", data={"csrf": csrf_of(c)})
    assert asked.status_code == 200 and "Revoke the API key?" in asked.text  # a confirmation first
    assert c.get("/console/bots").status_code == 200
    c.post("/console/keys/revoke", data={"csrf": csrf_of(c), "confirm": "yes"})
    assert c.get("/console/bots").headers.get("location") == "/console"
    assert client(sqlite_server).post("/console/sign-in", data={"api_key": new_key.group(1)}).status_code == 403


def test_the_iam_policy_endpoint(sqlite_server: RunningServer) -> None:
    acct = new_account(sqlite_server)
    api = httpx.Client(base_url=sqlite_server.api, headers={"Authorization": f"Token {acct.api_key}"}, timeout=30)
    body = {
        "provider": "aws",
        "bucket_name": "acme-media",
        "region": "eu-west-1",
        "access_mode": "write_only",
        "prefix": "recordings",
        "prefixes": {"video": "video-archive"},
    }
    resp = api.post("/admin/configs/iam_policy", json=body)
    assert resp.status_code == 200, resp.text
    actions = {s["Sid"]: (s["Action"], s["Resource"]) for s in resp.json()["policy"]["Statement"]}
    objects = ["arn:aws:s3:::acme-media/recordings/*", "arn:aws:s3:::acme-media/video-archive/*"]
    assert actions == {
        "MeetstoreWritesRecordings": (["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"], objects),
        "MeetstoreErasesRecordings": (["s3:DeleteObject", "s3:DeleteObjectVersion"], objects),
        "MeetstoreListsTheBucket": (["s3:ListBucket"], ["arn:aws:s3:::acme-media"]),
    }
    assert resp.json()["notes"] and "trust_policy" not in resp.json()
    # write_only without erasure: writes alone. A role gets its trust policy with the external id.
    role = {**body, "allow_erasure": False, "role_arn": "arn:aws:iam::123456789012:role/meetstore-writer"}
    answer = api.post("/admin/configs/iam_policy", json=role).json()
    assert [s["Sid"] for s in answer["policy"]["Statement"]] == ["MeetstoreWritesRecordings"]
    external_id = api.get("/admin/configs/external_id").json()["external_id"]
    condition = answer["trust_policy"]["Statement"][0]["Condition"]
    assert condition == {"StringEquals": {"sts:ExternalId": external_id}}
    bad = api.post("/admin/configs/iam_policy", json={**body, "bucket_name": "No_Such"})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_request"


def test_a_write_only_bots_page_shows_where_each_file_is_instead_of_a_player(
    sqlite_server: RunningServer, moto: MotoS3
) -> None:
    bucket = moto.make_bucket()
    keys = moto.make_user(put_only(bucket, "meetstream"))
    acct = new_account(sqlite_server)
    sdk = sdk_for(sqlite_server, acct.api_key)
    sdk.storage.set(storage_body(moto.endpoint, bucket, keys, access_mode="write_only"))
    c = signed_in(sqlite_server, acct.api_key)
    made = c.post("/console/bots/test", data={"csrf": csrf_of(c)})
    bot_id = made.headers["location"].rsplit("/", 1)[1]
    wait_status(sdk, bot_id, {"Done"}, timeout=60)
    page = c.get(f"/console/bots/{bot_id}")
    assert page.status_code == 200
    assert f"s3://{bucket}/meetstream/{bot_id}_audio.mp3" in page.text
    assert "<audio" not in page.text and "<video" not in page.text
    assert keys[1] not in page.text and keys[0] not in page.text
