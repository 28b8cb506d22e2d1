"""Audit finding 5 (first half): bots were unbounded per account. An account may have
`live_bots_per_account` bots joining or in a meeting at once (API.md "Limits": 100)."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from meetstore.adapters.db.tables import Bot

from conftest import new_account
from support.servers import RunningServer


def _create(server: RunningServer, api_key: str, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{server.api}/bots/create_bot",
        json={"meeting_link": "https://meet.google.com/abc-defg-hij", "bot_name": "n"},
        headers={"Authorization": f"Token {api_key}", **headers},
        timeout=30,
    )


def test_finding_5_live_bots_per_account_are_capped(make_server: Callable[..., RunningServer]) -> None:
    server = make_server("sqlite", workers=False, bot_runtime="external", live_bots_per_account=3)
    acct, other = new_account(server), new_account(server, "other")
    first = _create(server, acct.api_key, **{"Idempotency-Key": "k-1"})
    assert first.status_code == 201
    assert [_create(server, acct.api_key).status_code for _ in range(2)] == [201, 201]

    refused = _create(server, acct.api_key)
    assert refused.status_code == 429, refused.text
    assert refused.json()["code"] == "too_many_bots" and int(refused.headers["retry-after"]) >= 1
    # A replay of a bot that exists is no new bot; another account has its own allowance.
    assert _create(server, acct.api_key, **{"Idempotency-Key": "k-1"}).status_code == 507
    assert _create(server, other.api_key).status_code == 201

    # Once a bot is done, there is room again.
    with server.container.db.session() as s:
        bot = s.get(Bot, first.json()["bot_id"])
        assert bot is not None
        bot.status = "Done"
    assert _create(server, acct.api_key).status_code == 201
    assert _create(server, acct.api_key).status_code == 429
