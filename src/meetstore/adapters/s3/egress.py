"""The connect-time SSRF guard for customer S3 and STS endpoints: a small forward proxy inside
meetstore, which botocore reaches through its documented `proxies` setting.

The save-time check resolves a customer's `endpoint_url` once; every later connection (uploads,
inline reads, health checks, validations) resolved the name again, so a name that rebinds to an
internal address after the check reached it. Through this proxy, each connection's name is
resolved here, every address it resolves to is checked (`net_guard.refusal`), and the connection
is made to exactly the address that was checked. A name that does not resolve, or resolves to
one refused address, is refused: fail closed.

- `CONNECT host:port` (https): the tunnel is opened to the checked address; TLS still runs
  end to end between botocore and the endpoint, certificate checked against the name.
- An absolute-form request (`PUT http://host:port/path`, plain http): its head is forwarded in
  origin form with `Connection: close` (so a kept-alive client connection never carries a second
  request to another host), then both directions are piped.
A refusal is answered 403 with an S3 error body whose code is `EndpointNotAllowed`.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
import threading
from collections.abc import Callable
from urllib.parse import urlsplit

from meetstore.adapters.net_guard import Address, refusal

log = logging.getLogger("meetstore.egress")

HEAD_LIMIT = 64 * 1024
CONNECT_TIMEOUT_S = 10.0
PIPE_CHUNK = 256 * 1024
REFUSED_CODE = "EndpointNotAllowed"
CLOSED_URL = "http://127.0.0.1:9"
"""Where a closed guard points its clients: a privileged port nothing of ours listens on."""

Resolver = Callable[[str, int], list[str]]
"""host, port → the addresses the name resolves to now (as strings); OSError when it does not."""


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    return [str(info[4][0]).split("%", 1)[0] for info in infos]


class Refused(Exception):
    pass


class UpstreamUnreachable(Exception):
    pass


class EgressGuard:
    def __init__(self, *, allow_private: bool, resolver: Resolver = system_resolver) -> None:
        self._allow_private = allow_private
        self._resolver = resolver
        self._listener: socket.socket | None = None
        self._acceptor: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._url = CLOSED_URL

    @property
    def url(self) -> str:
        """The proxy's address, started on first use."""
        with self._lock:
            if self._listener is None and not self._closed:
                listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                listener.bind(("127.0.0.1", 0))
                listener.listen(256)
                self._listener = listener
                self._acceptor = threading.Thread(
                    target=self._accept, args=(listener,), name="egress-guard", daemon=True
                )
                self._acceptor.start()
                self._url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        return self._url

    @property
    def proxies(self) -> dict[str, str]:
        """botocore's `proxies` setting for a client whose every connection must be checked."""
        url = self.url
        return {"http": url, "https": url}

    def close(self) -> None:
        """Stop accepting and release the port. The listener is shut down first, which wakes the
        accepting thread, and closed only once that thread has left `accept`: closing a socket
        another thread still waits on frees its descriptor number for the next socket the process
        opens, while the kernel keeps the old one listening (a leaked port and a thread that wakes
        on a stranger's descriptor)."""
        with self._lock:
            self._closed = True
            # A client still in use after close must not reach whatever listens on the old port next.
            self._url = CLOSED_URL
            listener, acceptor = self._listener, self._acceptor
        if listener is None:
            return
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)
        if acceptor is not None:
            acceptor.join(timeout=5)
        listener.close()

    # --- the check ------------------------------------------------------------------------------
    def address_for(self, host: str, port: int) -> Address:
        """The one address to connect to for host:port, every address of the name checked."""
        try:
            literal = ipaddress.ip_address(host.strip("[]"))
            candidates: list[Address] = [literal]
        except ValueError:
            try:
                candidates = [ipaddress.ip_address(a) for a in self._resolver(host, port)]
            except (OSError, ValueError):
                raise Refused(f"{host} does not resolve") from None
        if not candidates:
            raise Refused(f"{host} has no address")
        for addr in candidates:
            why = refusal(addr, allow_private=self._allow_private)
            if why is not None:
                raise Refused(f"{host} resolves to {why}")
        return candidates[0]

    # --- the proxy ------------------------------------------------------------------------------
    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # shut down by close()
            if self._closed:
                client.close()
                return
            threading.Thread(target=self._serve, args=(client,), name="egress-conn", daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream: socket.socket | None = None
        try:
            head, rest = _read_head(client)
            first, _, headers = head.partition(b"\r\n")
            method, target, version = first.decode("latin-1").split(" ", 2)
            if method.upper() == "CONNECT":
                host, _, port_s = target.rpartition(":")
                upstream = self._connect(host, int(port_s))
                client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
                if rest:
                    upstream.sendall(rest)
            else:
                parts = urlsplit(target)
                if parts.scheme != "http" or not parts.hostname:
                    raise Refused("only absolute http:// requests and CONNECT are proxied")
                upstream = self._connect(parts.hostname, parts.port or 80)
                path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
                upstream.sendall(f"{method} {path} {version}\r\n".encode("latin-1") + _closing(headers) + rest)
            _pipe(client, upstream)
        except Refused as exc:
            log.warning("egress refused: %s", exc)
            _answer(client, 403, REFUSED_CODE, f"meetstore does not connect there: {exc}")
        except UpstreamUnreachable as exc:
            _answer(client, 502, "EndpointUnreachable", f"the endpoint did not accept a connection ({exc})")
        except (OSError, ValueError) as exc:
            log.info("egress connection ended: %s", type(exc).__name__)
        finally:
            for sock in (client, upstream):
                if sock is not None:
                    with contextlib.suppress(OSError):
                        sock.close()

    def _connect(self, host: str, port: int) -> socket.socket:
        addr = self.address_for(host, port)
        family = socket.AF_INET6 if isinstance(addr, ipaddress.IPv6Address) else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(CONNECT_TIMEOUT_S)
        try:
            sock.connect((str(addr), port))
        except OSError as exc:
            sock.close()
            raise UpstreamUnreachable(type(exc).__name__) from None
        sock.settimeout(None)
        return sock


def _read_head(sock: socket.socket) -> tuple[bytes, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(8192)
        if not chunk:
            raise ValueError("the client closed before its request head ended")
        data += chunk
        if len(data) > HEAD_LIMIT:
            raise ValueError("request head too large")
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def _closing(headers: bytes) -> bytes:
    """The header block without hop-by-hop proxy headers, with `Connection: close`."""
    kept = [
        line
        for line in headers.split(b"\r\n")
        if line and line.split(b":", 1)[0].strip().lower() not in (b"connection", b"proxy-connection", b"keep-alive")
    ]
    return b"\r\n".join([*kept, b"Connection: close"]) + b"\r\n\r\n"


def _pipe(a: socket.socket, b: socket.socket) -> None:
    """Copy both ways until either side closes."""

    def copy(src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(PIPE_CHUNK)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                dst.shutdown(socket.SHUT_WR)

    back = threading.Thread(target=copy, args=(b, a), daemon=True)
    back.start()
    copy(a, b)
    back.join()


def _answer(client: socket.socket, status: int, code: str, message: str) -> None:
    """An S3-shaped error answer (botocore reads the code from the XML body)."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{_xml(message)}</Message></Error>"
    ).encode()
    reason = {403: "Forbidden", 502: "Bad Gateway"}[status]
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/xml\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode()
    with contextlib.suppress(OSError):
        client.sendall(head + body)


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
