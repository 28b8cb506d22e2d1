"""Cached answers: get_audio, get_chats and get_manifest of a finished platform-store file, once
the API key and the file's location are cached (the key cache, `FetchService`'s final locations).

The first request of a key looks the key up in the database and reads and remembers the file's
location; the next ones are answered from the caches. A client must see the same thing either
way: the same body and headers, the same tenant isolation, revocation within the key cache's TTL,
the rate limit, and the route's own error bodies.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import update

from meetstore.adapters.db.tables import Account

from conftest import new_account
from support.fetch_rows import seed_bot
from support.servers import RunningServer

ENDPOINTS = {
    "get_audio": ("audio_url", "audio.mp3"),
    "get_chats": ("download_url", "chat.json"),
    "get_manifest": ("manifest_url", "manifest.json"),
}


def get(server: RunningServer, path: str, api_key: str | None, scheme: str = "Token") -> httpx.Response:
    headers = {"Authorization": f"{scheme} {api_key}"} if api_key is not None else {}
    return httpx.get(f"{server.api}{path}", headers=headers, timeout=10)


@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS))
def test_a_known_file_is_answered_the_same_on_both_paths(
    make_server: Callable[..., RunningServer], backend: str, endpoint: str
) -> None:
    server = make_server(backend, workers=False)
    acct = new_account(server)
    seeded = seed_bot(server.container, acct.account_id, pin="platform")
    path = f"/bots/{seeded.bot_id}/{endpoint}"
    field, name = ENDPOINTS[endpoint]

    first = get(server, path, acct.api_key)  # FastAPI: key looked up, location remembered
    assert server.container.accounts.cached_account(acct.api_key) == acct.account_id
    later = [get(server, path, acct.api_key) for _ in range(3)]  # from the caches
    for resp in [first, *later]:
        assert resp.status_code == 200, resp.text
        assert resp.headers["content-type"] == "application/json"
        assert resp.headers["content-length"] == str(len(resp.content))
        body = resp.json()
        assert set(body) == set(first.json())
        assert body["expires_in"] == first.json()["expires_in"] > 0
        assert datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00")) > datetime.now(UTC)
        download = httpx.get(body[field], timeout=10)
        assert download.status_code == 200
        assert download.content == seeded.data[seeded.key(name)]
    if endpoint == "get_chats":
        assert later[0].json()["file_type"] == "json"


def test_another_accounts_key_never_reaches_a_known_file(
    make_server: Callable[..., RunningServer], backend: str
) -> None:
    server = make_server(backend, workers=False)
    owner, other = new_account(server, "owner"), new_account(server, "other")
    seeded = seed_bot(server.container, owner.account_id, pin="platform")
    path = f"/bots/{seeded.bot_id}/get_audio"
    assert get(server, path, owner.api_key).status_code == 200
    assert get(server, path, owner.api_key).status_code == 200  # known now, for the owner
    for _ in range(2):  # the other key uncached, then cached: 404 both times
        resp = get(server, path, other.api_key)
        assert resp.status_code == 404
        assert resp.json()["code"] == "bot_not_found"


def test_the_routes_error_bodies_are_kept_for_a_known_file(
    make_server: Callable[..., RunningServer], backend: str
) -> None:
    server = make_server(backend, workers=False)
    acct = new_account(server)
    seeded = seed_bot(server.container, acct.account_id, pin="platform")
    path = f"/bots/{seeded.bot_id}/get_audio"
    assert get(server, path, acct.api_key).status_code == 200  # key and location cached

    missing = get(server, path, None)
    assert missing.status_code == 401 and missing.json()["code"] == "not_authenticated"
    bearer = get(server, path, acct.api_key, scheme="Bearer")
    assert bearer.status_code == 401 and "Token" in bearer.json()["message"]
    wrong = get(server, path, acct.api_key + "x")
    assert wrong.status_code == 403 and wrong.json()["code"] == "invalid_api_key"
    head = httpx.head(f"{server.api}{path}", headers={"Authorization": f"Token {acct.api_key}"})
    assert head.status_code == 405
    # The same id in another case still names the bot (the route normalises UUIDs).
    upper = get(server, f"/bots/{seeded.bot_id.upper()}/get_audio", acct.api_key)
    assert upper.status_code == 200 and "audio_url" in upper.json()


def test_a_revoked_key_stops_reading_known_files_within_the_ttl(
    make_server: Callable[..., RunningServer], backend: str
) -> None:
    ttl = 1.0
    server = make_server(backend, workers=False, auth_cache_ttl_s=ttl)
    acct = new_account(server)
    seeded = seed_bot(server.container, acct.account_id, pin="platform")
    path = f"/bots/{seeded.bot_id}/get_audio"
    assert get(server, path, acct.api_key).status_code == 200
    with server.container.db.session() as s:  # revoked by another process: only the row changes
        s.execute(update(Account).where(Account.id == acct.account_id).values(revoked_at=datetime.now(UTC)))
    revoked_at = time.monotonic()
    while (status := get(server, path, acct.api_key).status_code) == 200:
        assert time.monotonic() - revoked_at < ttl + 0.5, "still served after the TTL"
        time.sleep(0.02)
    assert status == 403


def test_the_rate_limit_applies_to_known_files(make_server: Callable[..., RunningServer]) -> None:
    # One token a minute: however slow the machine, none comes back within the test.
    server = make_server("sqlite", workers=False, rate_limit_per_minute=1, rate_limit_burst=3)
    acct = new_account(server)
    seeded = seed_bot(server.container, acct.account_id, pin="platform")
    path = f"/bots/{seeded.bot_id}/get_audio"
    statuses = [get(server, path, acct.api_key).status_code for _ in range(5)]
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3:] == [429, 429]
