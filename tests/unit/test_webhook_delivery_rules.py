"""Pure rules of webhook delivery: signature, backoff, receiver identity, URL re-check and pinning."""

from __future__ import annotations

import ipaddress
import random

import pytest
from meetstream import verify_webhook_signature
from meetstream.webhooks import verify_webhook_signature as verify_from_module

from meetstore.domain.backoff import backoff_delay
from meetstore.services.webhooks import (
    DeliveryRefused,
    delivery_target,
    pin_url,
    receiver_key,
    sign,
)


def test_signature_verifies_with_the_sdk_and_only_with_the_right_secret_and_body() -> None:
    body = b'{"event":"bot.done","bot_id":"b1","message":"\\u00e9t\\u00e9"}'
    header = sign(body, "whsec_abc")
    assert header.startswith("sha256=") and len(header) == len("sha256=") + 64
    assert verify_webhook_signature(body, header, "whsec_abc")
    assert verify_from_module(body, header, "whsec_abc")
    assert not verify_webhook_signature(body, header, "whsec_other")
    assert not verify_webhook_signature(body + b" ", header, "whsec_abc")


@pytest.mark.parametrize("attempts", [1, 2, 3, 5, 8, 30])
def test_backoff_grows_exponentially_with_jitter_and_is_capped(attempts: int) -> None:
    rng = random.Random(attempts)
    base, cap = 2.0, 3600.0
    expected = min(cap, base * 2 ** (attempts - 1))
    delays = [backoff_delay(attempts, base, cap, rng) for _ in range(200)]
    assert all(expected / 2 <= d <= expected for d in delays)
    assert len({round(d, 6) for d in delays}) > 1, "jitter spreads retries"


def test_backoff_sequence_doubles() -> None:
    lows = [backoff_delay(n, 1.0, 1000.0, random.Random(0)) for n in (1, 2, 3, 4)]
    # Each upper bound doubles; with equal jitter each delay is at least half its bound.
    for n, d in enumerate(lows, start=1):
        assert 2 ** (n - 1) / 2 <= d <= 2 ** (n - 1)


def test_receiver_key_is_account_and_host_port() -> None:
    a = receiver_key("acct", "https://Hooks.Example.com/a?bot=1")
    assert a == receiver_key("acct", "https://hooks.example.com:443/b?bot=2")
    assert a != receiver_key("other", "https://hooks.example.com/a")
    assert a != receiver_key("acct", "https://hooks.example.com:8443/a")
    assert receiver_key("acct", "http://h/x") == "acct|h:80"


def test_pin_url_keeps_host_header_and_tls_name() -> None:
    t = pin_url("https://hooks.example.com:8443/in?token=t", ipaddress.ip_address("93.184.216.34"))
    assert t.url == "https://93.184.216.34:8443/in?token=t"
    assert t.host_header == "hooks.example.com:8443"
    assert t.sni_hostname == "hooks.example.com"
    t6 = pin_url("http://hooks.example.com", ipaddress.ip_address("2606:2800:220:1::1"))
    assert t6.url == "http://[2606:2800:220:1::1]/"
    assert t6.host_header == "hooks.example.com"
    assert t6.sni_hostname is None


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hook",
        "http://localhost:9/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:9/",
        "http://10.1.2.3/",
    ],
)
def test_private_callback_is_refused_at_delivery_time(url: str) -> None:
    with pytest.raises(DeliveryRefused, match="private, loopback or link-local"):
        delivery_target(url, allow_private=False)


@pytest.mark.parametrize("url", ["ftp://example.com/x", "http://user:pw@example.com/", "not a url"])
def test_malformed_callback_is_refused(url: str) -> None:
    with pytest.raises(DeliveryRefused):
        delivery_target(url, allow_private=True)


def test_private_callback_allowed_when_configured_and_not_rewritten() -> None:
    t = delivery_target("http://127.0.0.1:9/hook?x=1", allow_private=True)
    assert t.url == "http://127.0.0.1:9/hook?x=1"
    assert t.host_header is None and t.sni_hostname is None


def test_public_literal_address_is_used_as_is() -> None:
    t = delivery_target("https://93.184.216.34/hook", allow_private=False)
    assert t.url == "https://93.184.216.34/hook"
