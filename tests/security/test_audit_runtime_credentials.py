"""Audit finding 6: one runtime token let any holder write, overwrite, "leave" or change the
status of any account's bot. Each bot now has its own runtime credential, from a claim
(API.md "Runtime credentials"); the runtime token only lists and claims."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx

from meetstore.adapters.db.tables import Bot

from conftest import new_account, sdk_for
from support.bots import bot_params, spool_dir
from support.servers import RunningServer


def _dispatcher(server: RunningServer) -> dict[str, str]:
    token = server.container.settings.runtime_token
    assert token is not None
    return {"Authorization": f"Bearer {token.get_secret_value()}"}


def _claim(server: RunningServer, bot_id: str) -> httpx.Response:
    return httpx.post(f"{server.url}/internal/v1/bots/{bot_id}/claim", headers=_dispatcher(server), timeout=30)


def _as(credential: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential}"}


def test_finding_6_a_bots_credential_speaks_for_that_bot_only(make_server: Callable[..., RunningServer]) -> None:
    # A claim lapses after 4 s unseen: wide enough that a loaded machine never lapses it mid-test.
    server = make_server("sqlite", bot_runtime="external", upload_worker=False, runtime_stale_after_s=4.0)
    a_bot = sdk_for(server, new_account(server, "a").api_key).bots.create(bot_params())["bot_id"]
    b_bot = sdk_for(server, new_account(server, "b").api_key).bots.create(bot_params())["bot_id"]
    base = f"{server.url}/internal/v1/bots"

    waiting = httpx.get(base, headers=_dispatcher(server), timeout=30)
    assert waiting.status_code == 200
    listed = {b["bot_id"] for b in waiting.json()["bots"]}
    assert {a_bot, b_bot} <= listed
    assert "credential" not in waiting.text

    claimed = _claim(server, a_bot)
    assert claimed.status_code == 200, claimed.text
    a_cred = claimed.json()["runtime_credential"]
    assert claimed.json()["bot_id"] == a_bot and claimed.json()["lease_expires_at"].endswith("Z")
    again = _claim(server, a_bot)
    assert again.status_code == 409 and again.json()["code"] == "already_claimed"
    assert a_bot not in {b["bot_id"] for b in httpx.get(base, headers=_dispatcher(server)).json()["bots"]}

    # A's credential works for A ...
    assert httpx.put(f"{base}/{a_bot}/files/chat.json", content=b"[]", headers=_as(a_cred)).status_code == 201
    assert httpx.post(f"{base}/{a_bot}/status", json={"status": "InMeeting"}, headers=_as(a_cred)).status_code == 200
    # ... and for nothing of B's; nor does the runtime token speak for a bot.
    for headers in (_as(a_cred), _dispatcher(server)):
        for method, path, kw in (
            ("PUT", f"/{b_bot}/files/audio.mp3", {"content": b"forged"}),
            ("POST", f"/{b_bot}/status", {"json": {"status": "Leaving"}}),
            ("POST", f"/{b_bot}/left", {}),
            ("GET", f"/{b_bot}/status", {}),
        ):
            resp = httpx.request(method, base + path, headers=headers, **kw)  # type: ignore[arg-type]
            assert resp.status_code == 403, (path, resp.text)
            assert resp.json()["code"] == "invalid_runtime_token"
            assert a_cred not in resp.text
    assert not spool_dir(server.container, b_bot).exists()
    with server.container.db.session() as s:
        b_row = s.get(Bot, b_bot)
        a_row = s.get(Bot, a_bot)
        assert b_row is not None and a_row is not None
        assert b_row.status == "Joining"
        # Stored as a hash only.
        assert a_row.runtime_credential_hash is not None and a_cred not in a_row.runtime_credential_hash
    db = Path(server.container.db.url.split("///", 1)[1])
    assert all(a_cred.encode() not in p.read_bytes() for p in db.parent.glob(db.name + "*"))

    # The runtime dies: once its claim lapses, a new claim gets a new credential, and the old one stops.
    time.sleep(4.5)
    reclaimed = _claim(server, a_bot)
    assert reclaimed.status_code == 200, reclaimed.text
    new_cred = reclaimed.json()["runtime_credential"]
    assert new_cred != a_cred
    assert httpx.post(f"{base}/{a_bot}/status", json={"status": "Recording"}, headers=_as(a_cred)).status_code == 403
    assert httpx.post(f"{base}/{a_bot}/status", json={"status": "Recording"}, headers=_as(new_cred)).status_code == 200


def test_finding_6_a_simulated_bot_cannot_be_claimed(make_server: Callable[..., RunningServer]) -> None:
    server = make_server("sqlite", workers=False)  # the simulated runtime records its bots
    bot_id = sdk_for(server, new_account(server).api_key).bots.create(bot_params(30.0))["bot_id"]
    resp = _claim(server, bot_id)
    assert resp.status_code == 409 and resp.json()["code"] == "already_claimed"
    listed = httpx.get(f"{server.url}/internal/v1/bots", headers=_dispatcher(server)).json()["bots"]
    assert bot_id not in {b["bot_id"] for b in listed}
