"""The private-address guard for customer-supplied URLs (S3 endpoints, webhook callbacks).

A URL whose host is, or resolves to, an address that is not globally reachable is refused, unless
`MEETSTORE_ALLOW_PRIVATE_ENDPOINTS` is set; link-local (cloud metadata), multicast, reserved and
unspecified addresses are refused even then. `refusal` is the one rule, used at save time here,
at delivery time by webhooks, and at connect time for S3 and STS (adapters/s3/egress.py).
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from meetstore.errors import EndpointNotAllowed, InvalidRequest

_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_PRIVATE = tuple(
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7")
)
"""What MEETSTORE_ALLOW_PRIVATE_ENDPOINTS opens besides loopback: the private networks proper."""
_NOT_GLOBAL = (
    _CGNAT,
    # `is_global` calls these global on some Python versions; neither is reachable on the internet.
    ipaddress.ip_network("192.0.0.0/24"),  # IETF protocol assignments
    ipaddress.ip_network("fec0::/10"),  # IPv6 site-local (deprecated, still routed internally)
)
_METADATA = (ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254"))

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _embedded(addr: Address) -> Address:
    """The IPv4 address an IPv6 one carries (mapped, 6to4, NAT64), else the address itself."""
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return addr.ipv4_mapped
        if addr.sixtofour is not None:  # 2002::/16 carries an IPv4 address
            return addr.sixtofour
        if addr in _NAT64:  # 64:ff9b::/96 reaches the IPv4 address in its low 32 bits
            return ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    return addr


def refusal(addr: Address, *, allow_private: bool) -> str | None:
    """Why meetstore must not connect to `addr`, or None.

    Link-local addresses (the cloud metadata service among them), multicast, unspecified and
    reserved ones are refused always. Without `allow_private`, so is every address that is not
    globally reachable (`is_global`: loopback, private, CGNAT, site-local fec0::/10, 192.0.0.0/24,
    documentation ranges, ...). With it, loopback and private networks are allowed (local S3
    servers in development).
    """
    addr = _embedded(addr)
    if addr in _METADATA or addr.is_link_local:
        return "a link-local (cloud metadata) address"
    if addr.is_multicast or addr.is_unspecified:
        return "a multicast or unspecified address"
    if allow_private and (addr.is_loopback or any(addr in net for net in _PRIVATE if addr.version == net.version)):
        return None
    if addr.is_reserved:
        return "a reserved address"
    if allow_private:
        return None
    if not addr.is_global or any(addr in net for net in _NOT_GLOBAL if addr.version == net.version):
        return "a private, loopback or otherwise non-public address"
    return None


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
    """Refuse a URL that points at an address meetstore must not connect to (SSRF guard).

    A host that does not resolve is let through here: the caller reports it as unreachable, and
    every connection to it goes through the connect-time check (adapters/s3/egress.py), which
    refuses names that do not resolve.
    """
    _, host, port = parse_http_url(url, field)
    try:
        addresses = resolve(host, port)
    except OSError:
        return
    if any(refusal(addr, allow_private=allow_private) is not None for addr in addresses):
        raise EndpointNotAllowed(
            f"{field} points at a private, loopback or link-local address ({host}); "
            "meetstore only connects to public endpoints.",
            field=field,
        )
