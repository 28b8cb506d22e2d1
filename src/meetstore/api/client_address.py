"""The client's address for the audit trail: the peer's, or, when the peer is one of
`MEETSTORE_TRUSTED_PROXIES`, the nearest address in X-Forwarded-For that is not a trusted proxy
(a client can put anything at the left of that header; only what our proxies appended counts)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from starlette.requests import Request

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _trusted(address: str, proxies: Sequence[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in proxies)


def client_address(request: Request, proxies: Sequence[Network]) -> str | None:
    peer = request.client.host if request.client is not None else None
    if not proxies or peer is None or not _trusted(peer, proxies):
        return peer
    hops = [h.strip() for v in request.headers.getlist("x-forwarded-for") for h in v.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, proxies):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # garbage our proxy passed on: the proxy is all we know
    return hops[0] if hops else peer
