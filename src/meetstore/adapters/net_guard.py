"""The private-address guard for customer-supplied URLs (S3 endpoints, webhook callbacks).

A URL whose host is, or resolves to, a loopback, private, link-local (cloud metadata), multicast,
reserved or unspecified address is refused unless `MEETSTORE_ALLOW_PRIVATE_ENDPOINTS` is set.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from meetstore.errors import EndpointNotAllowed, InvalidRequest

_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _is_private(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return _is_private(addr.ipv4_mapped)
        if addr.sixtofour is not None:  # 2002::/16 carries an IPv4 address
            return _is_private(addr.sixtofour)
        if addr in _NAT64:  # 64:ff9b::/96 reaches the IPv4 address in its low 32 bits
            return _is_private(ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF))
    return bool(
        addr.is_private
        or addr.is_loopback
        or addr.is_link_local
        or addr.is_multicast
        or addr.is_reserved
        or addr.is_unspecified
        or (isinstance(addr, ipaddress.IPv4Address) and addr in ipaddress.ip_network("100.64.0.0/10"))
    )


def parse_http_url(url: str, field: str) -> tuple[str, str, int]:
    """(scheme, host, port) of an http(s) URL, or InvalidRequest naming `field`."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidRequest(
            f"{field} is not a valid URL", [{"field": field, "message": "not a valid URL"}]
        ) from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidRequest(
            f"{field} must be an http:// or https:// URL",
            [{"field": field, "message": "must be an http:// or https:// URL"}],
        )
    if parts.username or parts.password:
        raise InvalidRequest(
            f"{field} must not carry credentials",
            [{"field": field, "message": "must not contain user:password@"}],
        )
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def resolve(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def check_url_allowed(url: str, field: str, *, allow_private: bool) -> None:
    """Refuse a URL that points into private address space (SSRF guard).

    A host that does not resolve is let through here: the caller reports it as unreachable.
    """
    _, host, port = parse_http_url(url, field)
    if allow_private:
        return
    try:
        addresses = resolve(host, port)
    except OSError:
        return
    if any(_is_private(a) for a in addresses):
        raise EndpointNotAllowed(
            f"{field} points at a private, loopback or link-local address ({host}); "
            "meetstore only connects to public endpoints.",
            field=field,
        )
