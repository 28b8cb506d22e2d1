"""The SSRF guard for customer-supplied URLs (S3 endpoints, webhook callbacks)."""

from __future__ import annotations

import pytest

from meetstore.adapters.net_guard import check_url_allowed, parse_http_url
from meetstore.errors import EndpointNotAllowed, InvalidRequest

PRIVATE_URLS = [
    "http://127.0.0.1:9000",
    "http://127.0.0.2/",
    "https://[::1]/",
    "http://[::1]:9000/bucket",
    "http://10.0.0.5",
    "http://10.255.255.255:443",
    "http://172.16.0.1",
    "http://172.31.255.254",
    "http://192.168.1.10:9000",
    "http://169.254.169.254/latest/meta-data/",
    "http://169.254.1.1",
    "http://0.0.0.0:9000",
    "http://[::]/",
    "http://[::ffff:127.0.0.1]/",
    "http://[::ffff:169.254.169.254]/",
    "http://[::ffff:10.0.0.1]:9000/",
    "http://100.64.0.1",
    "http://100.127.255.254",
    "http://[fe80::1]/",
    "http://[fd00::1]/",
    "http://224.0.0.1",
    "http://240.0.0.1",
    "http://localhost:9000",
    "http://LOCALHOST/",
    # Numeric spellings that the system resolver turns into loopback.
    "http://2130706433/",
    "http://127.1/",
    "http://0x7f.0.0.1/",
    "http://0177.0.0.1/",
]


@pytest.mark.parametrize("url", PRIVATE_URLS)
def test_private_addresses_are_refused(url: str) -> None:
    with pytest.raises(EndpointNotAllowed) as info:
        check_url_allowed(url, "endpoint_url", allow_private=False)
    assert info.value.code == "endpoint_not_allowed"
    assert info.value.details["field"] == "endpoint_url"
    assert "endpoint_url" in info.value.message


NEVER_ALLOWED = {
    # Link-local (the cloud metadata service among them), multicast, reserved and unspecified
    # addresses stay refused with MEETSTORE_ALLOW_PRIVATE_ENDPOINTS (API.md; audit finding 1).
    "http://169.254.169.254/latest/meta-data/",
    "http://169.254.1.1",
    "http://[::ffff:169.254.169.254]/",
    "http://[fe80::1]/",
    "http://224.0.0.1",
    "http://240.0.0.1",
    "http://0.0.0.0:9000",
    "http://[::]/",
}


@pytest.mark.parametrize("url", [u for u in PRIVATE_URLS if u not in NEVER_ALLOWED])
def test_private_addresses_are_allowed_when_configured(url: str) -> None:
    check_url_allowed(url, "endpoint_url", allow_private=True)


@pytest.mark.parametrize("url", sorted(NEVER_ALLOWED))
def test_link_local_and_metadata_are_refused_even_when_private_is_allowed(url: str) -> None:
    with pytest.raises(EndpointNotAllowed):
        check_url_allowed(url, "endpoint_url", allow_private=True)


@pytest.mark.parametrize(
    "url",
    [
        "http://93.184.216.34",
        "https://93.184.216.34:8443/path",
        "https://[2606:2800:220:1:248:1893:25c8:1946]/",
        "http://8.8.8.8",
        "http://100.128.0.1",  # just outside 100.64.0.0/10
        "http://172.32.0.1",  # just outside 172.16.0.0/12
    ],
)
def test_public_literal_addresses_are_allowed(url: str) -> None:
    check_url_allowed(url, "endpoint_url", allow_private=False)


def test_unresolvable_host_is_let_through() -> None:
    # The caller reports it as unreachable; `.invalid` never resolves (RFC 6761).
    check_url_allowed("https://s3.nothing-here.invalid", "endpoint_url", allow_private=False)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://93.184.216.34/",
        "file:///etc/passwd",
        "gopher://93.184.216.34/",
        "s3://bucket/key",
        "javascript:alert(1)",
        "93.184.216.34:9000",
        "//93.184.216.34/",
        "http://",
        "http:///path",
        "",
    ],
)
@pytest.mark.parametrize("allow_private", [False, True])
def test_non_http_urls_are_invalid(url: str, allow_private: bool) -> None:
    with pytest.raises(InvalidRequest) as info:
        check_url_allowed(url, "callback_url", allow_private=allow_private)
    assert info.value.code == "invalid_request"
    assert info.value.details["errors"][0]["field"] == "callback_url"


@pytest.mark.parametrize(
    "url",
    [
        "http://user:pass@93.184.216.34/",
        "https://AKIAEXAMPLE:secret@s3.example.com/",
        "http://user@93.184.216.34/",
        "http://:pass@93.184.216.34/",
    ],
)
@pytest.mark.parametrize("allow_private", [False, True])
def test_credentials_in_urls_are_invalid(url: str, allow_private: bool) -> None:
    with pytest.raises(InvalidRequest) as info:
        check_url_allowed(url, "endpoint_url", allow_private=allow_private)
    assert info.value.details["errors"] == [
        {"field": "endpoint_url", "message": "must not contain user:password@"}
    ]
    # The message never repeats the credentials.
    assert "pass" not in info.value.message and "secret" not in info.value.message


@pytest.mark.parametrize("url", ["http://93.184.216.34:99999/", "http://93.184.216.34:-1/", "http://[::1/"])
def test_malformed_urls_are_invalid(url: str) -> None:
    with pytest.raises(InvalidRequest):
        check_url_allowed(url, "endpoint_url", allow_private=False)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://s3.example.com", ("http", "s3.example.com", 80)),
        ("https://s3.example.com", ("https", "s3.example.com", 443)),
        ("https://s3.example.com:9000/x", ("https", "s3.example.com", 9000)),
        ("HTTP://S3.Example.COM", ("http", "s3.example.com", 80)),
        ("http://[::1]:9000", ("http", "::1", 9000)),
    ],
)
def test_parse_http_url(url: str, expected: tuple[str, str, int]) -> None:
    assert parse_http_url(url, "endpoint_url") == expected


@pytest.mark.parametrize(
    "url", ["http://[64:ff9b::7f00:1]/", "http://[64:ff9b::a9fe:a9fe]/", "http://[2002:7f00:1::]/"]
)
def test_ipv6_forms_embedding_private_ipv4_are_refused(url: str) -> None:
    with pytest.raises(EndpointNotAllowed):
        check_url_allowed(url, "endpoint_url", allow_private=False)
