"""Audit finding 16: `custom_attributes` of up to 1 MiB was copied into every webhook and every
`GET /bots` page of 200 (~200 MiB built in memory). Now it is capped at 16 KiB of JSON and a page
holds about 1 MiB at most (API.md "Limits")."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx

from conftest import new_account, sdk_for
from support.servers import RunningServer

LIMIT = 16 * 1024


def _attrs(size: int) -> dict[str, str]:
    """custom_attributes whose compact JSON is exactly `size` bytes."""
    value = {"note": ""}
    value["note"] = "x" * (size - len(json.dumps(value, separators=(",", ":"))))
    assert len(json.dumps(value, separators=(",", ":"))) == size
    return value


def _create(server: RunningServer, api_key: str, attrs: object) -> httpx.Response:
    return httpx.post(
        f"{server.api}/bots/create_bot",
        json={"meeting_link": "https://meet.google.com/abc-defg-hij", "bot_name": "n", "custom_attributes": attrs},
        headers={"Authorization": f"Token {api_key}"},
        timeout=30,
    )


def test_finding_16_custom_attributes_are_capped(make_server: Callable[..., RunningServer]) -> None:
    server = make_server("sqlite", workers=False, bot_runtime="external")
    acct = new_account(server)
    at_limit = _create(server, acct.api_key, _attrs(LIMIT))
    assert at_limit.status_code == 201, at_limit.text
    over = _create(server, acct.api_key, _attrs(LIMIT + 1))
    assert over.status_code == 400
    body = over.json()
    assert body["code"] == "invalid_request" and body["errors"][0]["field"] == "custom_attributes"
    assert "x" * 100 not in over.text  # the value is not echoed back
    assert len(sdk_for(server, acct.api_key).bots.list()["bots"]) == 1


def test_finding_16_a_page_of_bots_holds_about_a_mebibyte(make_server: Callable[..., RunningServer]) -> None:
    server = make_server("sqlite", workers=False, bot_runtime="external")
    acct = new_account(server)
    for _ in range(100):  # 100 x 16 KiB: 1.6 MiB of custom_attributes in all
        assert _create(server, acct.api_key, _attrs(LIMIT)).status_code == 201
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, object] = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        resp = httpx.get(
            f"{server.api}/bots", params=params, headers={"Authorization": f"Token {acct.api_key}"}, timeout=30
        )
        assert resp.status_code == 200
        assert len(resp.content) <= 1024 * 1024
        page = resp.json()
        seen += [b["bot_id"] for b in page["bots"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 2 and len(seen) == len(set(seen)) == 100
