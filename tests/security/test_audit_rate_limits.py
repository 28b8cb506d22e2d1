"""Audit finding 2 (the rate limit was keyed on the raw Authorization header) and the limit on
failed authentications per client address (API.md "Limits")."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx

from conftest import new_account
from support.servers import RunningServer


def _get(server: RunningServer, headers: list[tuple[str, str]]) -> httpx.Response:
    return httpx.get(f"{server.api}/bots", headers=headers, timeout=10)


def test_finding_2_every_spelling_of_a_key_shares_the_account_bucket(
    make_server: Callable[..., RunningServer],
) -> None:
    server = make_server("sqlite", workers=False, rate_limit_per_minute=1, rate_limit_burst=3)
    acct = new_account(server)
    key = acct.api_key
    spellings = [f"Token {key}", f"token {key}", f"Token  {key}", f"TOKEN {key}", f"Token {key}"]
    statuses = [_get(server, [("Authorization", h)]).status_code for h in spellings]
    assert statuses == [200, 200, 200, 429, 429]
    limited = _get(server, [("Authorization", f"tOkEn {key}")])
    assert limited.json()["code"] == "rate_limited" and int(limited.headers["retry-after"]) >= 1
    # Another account has its own bucket.
    other = new_account(server, "other")
    assert _get(server, [("Authorization", f"Token {other.api_key}")]).status_code == 200


def test_finding_2_distinct_bogus_headers_do_not_refill_anyones_bucket(
    make_server: Callable[..., RunningServer],
) -> None:
    server = make_server("sqlite", workers=False, rate_limit_per_minute=1, rate_limit_burst=2)
    acct = new_account(server)
    auth = [("Authorization", f"Token {acct.api_key}")]
    assert [_get(server, auth).status_code for _ in range(3)] == [200, 200, 429]
    with httpx.Client(base_url=server.api, timeout=10) as client:
        bogus = {
            client.get("/bots", headers={"Authorization": f"Token {uuid.uuid4().hex}"}).status_code
            for _ in range(300)
        }
    assert bogus == {403}
    assert _get(server, auth).status_code == 429


def test_finding_2_two_authorization_headers_are_refused(make_server: Callable[..., RunningServer]) -> None:
    server = make_server("sqlite", workers=False)
    acct = new_account(server)
    other = new_account(server, "other")
    resp = _get(
        server, [("Authorization", f"Token {acct.api_key}"), ("Authorization", f"Token {other.api_key}")]
    )
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["code"] == "invalid_request" and body["errors"][0]["field"] == "Authorization"
    assert acct.api_key not in resp.text and other.api_key not in resp.text


def test_failed_authentications_per_address_are_limited(make_server: Callable[..., RunningServer]) -> None:
    server = make_server("sqlite", workers=False, auth_failures_per_minute=5)
    acct = new_account(server)
    good = [("Authorization", f"Token {acct.api_key}")]
    assert _get(server, good).status_code == 200  # known to the process from here on
    statuses = [_get(server, [("Authorization", f"Token {uuid.uuid4().hex}")]).status_code for _ in range(7)]
    assert statuses == [403] * 5 + [429] * 2
    refused = _get(server, [("Authorization", f"Token {uuid.uuid4().hex}")])
    assert refused.json()["code"] == "rate_limited" and int(refused.headers["retry-after"]) >= 1
    # A key the process already knows is not a failed authentication: it is still served.
    assert _get(server, good).status_code == 200
