"""The audit trail's hash chain, the lifecycle rule document, and which client address is believed."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.requests import Request

from meetstore.api.client_address import client_address
from meetstore.config import Settings
from meetstore.domain.audit import ACTIONS, GENESIS, Actor, AuditEntry, canonical, chain, chain_breaks, encode
from meetstore.domain.erasure import Retention
from meetstore.domain.key_layout import category_folders
from meetstore.domain.lifecycle_rule import EmptyPrefix, lifecycle_configuration
from meetstore.domain.storage_config import CategoryPrefixes

AT = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def entries(n: int) -> list[AuditEntry]:
    return [AuditEntry(AT, "url.issued", Actor("key_1", "10.0.0.1"), "bot", {"n": i}) for i in range(n)]


def test_a_chain_links_each_entry_to_the_one_before() -> None:
    linked = chain(GENESIS, entries(3))
    assert linked[0].prev_hash == GENESIS
    assert [e.prev_hash for e in linked[1:]] == [e.hash for e in linked[:-1]]
    assert chain_breaks(linked) == []
    # Appending later continues from the head.
    more = chain(linked[-1].hash, entries(1))
    assert chain_breaks(linked + more) == []


def test_an_edit_a_removal_or_a_reordering_shows() -> None:
    linked = chain(GENESIS, entries(4))
    edited = [*linked[:1], replace(linked[1], detail={"n": 99}), *linked[2:]]
    assert chain_breaks(edited) == [1]
    assert chain_breaks([linked[0], linked[2], linked[3]]) == [1]
    assert chain_breaks([linked[1], linked[0], linked[2], linked[3]]) == [1, 2]
    assert chain_breaks(linked[2:]) == []  # the oldest entries aged out: the rest still holds


TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT | st.datetimes(timezones=st.just(UTC)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=8,
)


@given(
    action=st.sampled_from(ACTIONS),
    at=st.datetimes(timezones=st.just(UTC)),
    actor=st.builds(Actor, st.none() | TEXT, st.none() | TEXT),
    bot_id=st.none() | TEXT,
    detail=st.dictionaries(TEXT, JSONISH, max_size=4),
)
def test_an_encoded_entry_hashes_the_bytes_its_verification_recomputes(
    action: str, at: datetime, actor: Actor, bot_id: str | None, detail: dict[str, object]
) -> None:
    """An entry's JSON is written in parts on the request that issues a URL; the chain is verified
    by writing the whole document again: the two must be the same bytes, or the chain breaks."""
    e = AuditEntry(at, action, actor, bot_id, detail)
    assert encode(e).body == canonical(at, action, actor.as_dict(), bot_id, detail)
    assert chain_breaks(chain(GENESIS, [encode(e), e])) == []


def test_unknown_actions_are_refused() -> None:
    with pytest.raises(ValueError):
        AuditEntry(AT, "secrets.leaked")


def test_lifecycle_rule_rounds_up_to_whole_days_per_distinct_folder() -> None:
    prefixes = CategoryPrefixes(audio="m", video="m", transcript="t/x", metadata="m")
    doc = lifecycle_configuration(category_folders(prefixes), Retention(0.002))
    assert [r["Filter"]["Prefix"] for r in doc["Rules"]] == ["m/", "t/x/"]
    assert all(r["Expiration"] == {"Days": 1} and r["Status"] == "Enabled" for r in doc["Rules"])
    assert lifecycle_configuration(["m/"], Retention(24.0))["Rules"][0]["Expiration"] == {"Days": 1}
    assert lifecycle_configuration(["m/"], Retention(24.5))["Rules"][0]["Expiration"] == {"Days": 2}
    with pytest.raises(EmptyPrefix):
        lifecycle_configuration(category_folders(replace(prefixes, video="")), Retention(5.0))


def request(peer: str, forwarded: str | None) -> Request:
    headers = [] if forwarded is None else [(b"x-forwarded-for", forwarded.encode())]
    return Request({"type": "http", "client": (peer, 1234), "headers": headers})


@pytest.mark.parametrize(
    ("proxies", "peer", "forwarded", "expected"),
    [
        ("", "198.51.100.4", "203.0.113.9", "198.51.100.4"),  # no trusted proxy: the header is ignored
        ("10.0.0.0/8", "198.51.100.4", "203.0.113.9", "198.51.100.4"),  # the peer is not a proxy of ours
        ("10.0.0.0/8", "10.1.2.3", "203.0.113.9", "203.0.113.9"),
        ("10.0.0.0/8", "10.1.2.3", "6.6.6.6, 203.0.113.9, 10.9.9.9", "203.0.113.9"),  # forged left part
        ("10.0.0.0/8", "10.1.2.3", "not-an-address", "10.1.2.3"),
        ("10.0.0.0/8", "10.1.2.3", None, "10.1.2.3"),
        ("10.0.0.0/8, ::1", "::1", "2001:db8::7", "2001:db8::7"),
    ],
)
def test_client_address_believes_only_trusted_proxies(
    proxies: str, peer: str, forwarded: str | None, expected: str
) -> None:
    networks = Settings(trusted_proxies=proxies).trusted_proxy_networks
    assert client_address(request(peer, forwarded), networks) == expected
