"""Auth and malformed input: the envelope, 400 not 422, no echo of secrets."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from meetstream import MeetStream
from meetstream import PermissionError as MSPermissionError

from conftest import new_account
from support.servers import RunningServer

GOOD: dict[str, Any] = {
    "provider": "aws",
    "bucket_name": "my-bucket",
    "region": "us-east-1",
    "access_key_id": "AKIAEXAMPLEEXAMPLE00",
    "secret_key": "s3cr3t-value-that-must-not-echo",
}


def test_no_header_is_401_and_bad_key_is_403(sqlite_server: RunningServer) -> None:
    resp = httpx.get(sqlite_server.api + "/admin/configs")
    assert resp.status_code == 401
    assert resp.json()["code"] == "not_authenticated"
    with pytest.raises(MSPermissionError) as err:
        MeetStream(api_key="ms_unknown", base_url=sqlite_server.api, max_retries=0).storage.get()
    assert err.value.body["code"] == "invalid_api_key"
    resp = httpx.get(sqlite_server.api + "/admin/configs", headers={"Authorization": "Bearer x"})
    assert resp.status_code == 401


@pytest.mark.parametrize(
    "path",
    [
        "/bots/00000000-0000-0000-0000-000000000000/get_audio",
        "/bots/00000000-0000-0000-0000-000000000000/get_screenshots?limit=0&cursor=" + "x" * 600,
        "/transcript/00000000-0000-0000-0000-000000000000/get_transcript?raw=maybe",
        "/bots/00000000-0000-0000-0000-000000000000/get_participants",
    ],
)
def test_fetch_endpoints_authenticate_before_they_judge_the_request(sqlite_server: RunningServer, path: str) -> None:
    """The fetch endpoints authenticate in their handlers or as a dependency: either way a request
    without a valid key is 401/403, whatever else it sent."""
    assert httpx.get(sqlite_server.api + path).status_code == 401
    bad = httpx.get(sqlite_server.api + path, headers={"Authorization": "Token ms_unknown"})
    assert bad.status_code == 403 and bad.json()["code"] == "invalid_api_key"


def test_revoked_key_is_403(sqlite_server: RunningServer) -> None:
    acct = new_account(sqlite_server)
    sqlite_server.container.accounts.revoke(acct.account_id)
    resp = httpx.get(sqlite_server.api + "/admin/configs", headers={"Authorization": f"Token {acct.api_key}"})
    assert resp.status_code == 403


@pytest.mark.parametrize(
    "change,field",
    [
        ({"provider": "gcp"}, "provider"),
        ({"bucket_name": "Bad_Bucket"}, "bucket_name"),
        ({"bucket_name": "ab"}, "bucket_name"),
        ({"bucket_name": "192.168.1.1"}, "bucket_name"),
        ({"region": "moon"}, "region"),
        ({"access_mode": "read_only"}, "access_mode"),
        ({"prefix": "a/../b"}, "prefix"),
        ({"prefix": "a\\b"}, "prefix"),
        ({"prefix": "a\x01b"}, "prefix"),
        ({"prefix": "x" * 513}, "prefix"),
        ({"prefixes": {"audio": "./x"}}, "prefixes.audio"),
        ({"prefixes": {"slides": "x"}}, "prefixes.slides"),
        ({"unknown_field": 1}, "unknown_field"),
        ({"bucket_name": 42}, "bucket_name"),
        ({"endpoint_url": "ftp://example.com"}, "endpoint_url"),
        ({"secret_key": ""}, "secret_key"),
    ],
)
def test_bad_input_is_400_invalid_request(
    sqlite_server: RunningServer, change: dict[str, Any], field: str
) -> None:
    acct = new_account(sqlite_server)
    resp = httpx.put(
        sqlite_server.api + "/admin/configs",
        params={"config_type": "storage"},
        json={**GOOD, **change},
        headers={"Authorization": f"Token {acct.api_key}"},
    )
    assert resp.status_code == 400, resp.text
    b = resp.json()
    assert b["code"] == "invalid_request"
    assert field in [e["field"] for e in b["errors"]]
    assert GOOD["secret_key"] not in resp.text


@pytest.mark.parametrize("missing", ["provider", "bucket_name", "region", "access_key_id", "secret_key"])
def test_missing_required_field(sqlite_server: RunningServer, missing: str) -> None:
    acct = new_account(sqlite_server)
    data = {k: v for k, v in GOOD.items() if k != missing}
    resp = httpx.put(
        sqlite_server.api + "/admin/configs",
        params={"config_type": "storage"},
        json=data,
        headers={"Authorization": f"Token {acct.api_key}"},
    )
    assert resp.status_code == 400
    assert resp.json()["errors"][0]["field"] == missing


def test_bad_json_and_wrong_query(sqlite_server: RunningServer) -> None:
    acct = new_account(sqlite_server)
    h = {"Authorization": f"Token {acct.api_key}", "Content-Type": "application/json"}
    resp = httpx.put(
        sqlite_server.api + "/admin/configs?config_type=storage", content=b"{not json", headers=h
    )
    assert resp.status_code == 400 and resp.json()["code"] == "invalid_request"
    resp = httpx.put(sqlite_server.api + "/admin/configs?config_type=bots", json=GOOD, headers=h)
    assert resp.status_code == 400 and resp.json()["errors"][0]["field"] == "config_type"
    resp = httpx.delete(sqlite_server.api + "/admin/configs?key_name=gcp", headers=h)
    assert resp.status_code == 400


def test_private_endpoint_refused_unless_allowed(make_server: Any) -> None:
    srv = make_server("sqlite", allow_private_endpoints=False)
    acct = new_account(srv)
    for url in [
        "http://127.0.0.1:9000",
        "http://[::1]:9000",
        "http://169.254.169.254",
        "http://10.1.2.3",
        "http://localhost:9000",
    ]:
        resp = httpx.put(
            srv.api + "/admin/configs",
            params={"config_type": "storage"},
            json={**GOOD, "endpoint_url": url},
            headers={"Authorization": f"Token {acct.api_key}"},
        )
        assert resp.status_code == 400, url
        assert resp.json()["code"] == "endpoint_not_allowed", url
