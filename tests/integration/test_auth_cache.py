"""The API-key cache under steady traffic: a busy key is re-validated in the background before its
entry runs out (no request waits for the lookup), and a key revoked by another process still stops
working within the cache's TTL while its client keeps calling.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import update

from meetstore.adapters.db.tables import Account
from meetstore.services.accounts import NewAccount

from conftest import new_account
from support.servers import RunningServer

TTL_S = 1.0


def ping(server: RunningServer, api_key: str) -> int:
    resp = httpx.get(f"{server.api}/ping", headers={"Authorization": f"Token {api_key}"}, timeout=10)
    return resp.status_code


@pytest.fixture
def short_ttl(make_server: Callable[..., RunningServer], backend: str) -> tuple[RunningServer, NewAccount]:
    """A server whose key cache keeps a validated key for TTL_S, and an account on it."""
    server = make_server(backend, workers=False, auth_cache_ttl_s=TTL_S)
    return server, new_account(server)


def revoke_elsewhere(server: RunningServer, account_id: str) -> None:
    """What another API process's revocation leaves behind: the row, not this process's cache."""
    with server.container.db.session() as s:
        s.execute(update(Account).where(Account.id == account_id).values(revoked_at=datetime.now(UTC)))


def test_a_busy_key_is_revalidated_in_the_background_before_it_runs_out(
    short_ttl: tuple[RunningServer, NewAccount],
) -> None:
    server, acct = short_ttl
    accounts = server.container.accounts
    assert ping(server, acct.api_key) == 200  # looked up, cached
    assert accounts.cached_account(acct.api_key) == acct.account_id
    assert not accounts.needs_revalidation(acct.api_key)  # fresh: first half of its life

    # Requests keep coming for three TTLs: the entry never runs out, so every one of them is
    # answered from the cache, and re-validations happen in the background.
    misses = 0
    deadline = time.monotonic() + 3 * TTL_S
    while time.monotonic() < deadline:
        if accounts.cached_account(acct.api_key) is None:
            misses += 1
        assert ping(server, acct.api_key) == 200
        time.sleep(0.02)
    assert misses == 0


def test_revalidation_claims_once_extends_a_valid_key_and_drops_a_revoked_one(
    short_ttl: tuple[RunningServer, NewAccount],
) -> None:
    server, acct = short_ttl
    accounts = server.container.accounts
    assert accounts.authenticate(acct.api_key) == acct.account_id
    time.sleep(TTL_S * 0.6)  # past half its life
    assert accounts.needs_revalidation(acct.api_key)
    assert not accounts.needs_revalidation(acct.api_key)  # one caller re-validates, not all
    accounts.revalidate(acct.api_key)
    assert not accounts.needs_revalidation(acct.api_key)  # a new life
    time.sleep(TTL_S * 0.6)  # 1.2 TTL after the first look-up: alive only thanks to the refresh
    assert accounts.cached_account(acct.api_key) == acct.account_id

    revoke_elsewhere(server, acct.account_id)
    assert accounts.needs_revalidation(acct.api_key)
    accounts.revalidate(acct.api_key)
    assert accounts.cached_account(acct.api_key) is None
    assert ping(server, acct.api_key) == 403


def test_a_key_revoked_by_another_process_stops_working_within_the_ttl_under_traffic(
    short_ttl: tuple[RunningServer, NewAccount],
) -> None:
    server, acct = short_ttl
    assert ping(server, acct.api_key) == 200
    revoke_elsewhere(server, acct.account_id)
    revoked_at = time.monotonic()
    while ping(server, acct.api_key) == 200:
        assert time.monotonic() - revoked_at < TTL_S + 0.5, "still accepted after the TTL"
        time.sleep(0.02)
    assert ping(server, acct.api_key) == 403
