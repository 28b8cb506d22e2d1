"""A fault-injecting HTTP proxy for tests: sits on 127.0.0.1 between meetstore and moto.

meetstore's storage configuration points `endpoint_url` at the proxy. Each request that reaches it
is either forwarded to moto byte for byte (SigV4 signatures stay valid: nothing the client signed
is touched), or, for a seeded random share of requests, answered with a fault *before* anything is
forwarded (so moto never half-does the work):

- ``slowdown``: ``503 SlowDown`` with S3's XML error body;
- ``internal``: ``500 InternalError`` with S3's XML error body;
- ``reset``: the connection is reset (``SO_LINGER`` 0, then close: the client sees ECONNRESET);
- ``stall``: nothing is answered for ``stall_s`` (30 s by default); the client's read timeout
  must cut it.

``latency_s`` delays every forwarded request by that long: a far-away S3, or a slow upload that
takes as long as a test needs whatever the machine's speed.

moto's server (werkzeug) closes every connection after one response (``Connection: close``), so
the proxy handles one request per client connection: forward the request head, pipe both ways
until moto closes, then close the client side. Clients see ``Connection: close`` on every answer
and never reuse a connection, so a keep-alive client cannot send a second request the proxy would
miss. Counters (`stats`) say what was injected, per fault kind and per S3 operation.
"""

from __future__ import annotations

import random
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

FAULT_KINDS: tuple[str, ...] = ("slowdown", "internal", "reset", "stall")
HEAD_LIMIT = 64 * 1024
IO_TIMEOUT_S = 60.0

_ERROR_XML = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
    "<RequestId>fault-proxy</RequestId></Error>"
)
_ANSWERS = {
    "slowdown": (503, "Slow Down", "SlowDown", "Please reduce your request rate."),
    "internal": (500, "Internal Server Error", "InternalError", "We encountered an internal error."),
}


def s3_operation(method: str, target: str) -> str:
    """A rough S3 operation name for a request line (for the counters only)."""
    query = parse_qs(urlsplit(target).query, keep_blank_values=True)
    if method == "POST" and "uploads" in query:
        return "CreateMultipartUpload"
    if method == "PUT" and "uploadId" in query:
        return "UploadPart"
    if method == "POST" and "uploadId" in query:
        return "CompleteMultipartUpload"
    if method == "DELETE" and "uploadId" in query:
        return "AbortMultipartUpload"
    if method == "GET" and "uploads" in query:
        return "ListMultipartUploads"
    path = urlsplit(target).path.strip("/")
    on_bucket = "/" not in path
    return {
        ("PUT", False): "PutObject",
        ("GET", False): "GetObject",
        ("HEAD", False): "HeadObject",
        ("DELETE", False): "DeleteObject",
        ("HEAD", True): "HeadBucket",
        ("GET", True): "ListObjects",
    }.get((method, on_bucket), f"{method} {'bucket' if on_bucket else 'object'}")


@dataclass
class ProxyStats:
    requests: int = 0
    forwarded: int = 0
    faults: Counter[str] = field(default_factory=Counter)
    faults_by_operation: Counter[str] = field(default_factory=Counter)
    requests_by_operation: Counter[str] = field(default_factory=Counter)
    heads: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    """(operation, lower-cased request headers) of every request, in order of arrival."""

    @property
    def injected(self) -> int:
        return sum(self.faults.values())


class FaultProxy:
    """`FaultProxy(upstream_port, rate=0.3, seed=7).start()`; `url` is the endpoint to configure."""

    def __init__(
        self,
        upstream_port: int,
        *,
        rate: float = 0.0,
        seed: int = 0,
        kinds: tuple[str, ...] = FAULT_KINDS,
        stall_s: float = 30.0,
        latency_s: float = 0.0,
        host: str = "127.0.0.1",
    ) -> None:
        unknown = set(kinds) - set(FAULT_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds: {sorted(unknown)}")
        self.upstream = (host, upstream_port)
        self.rate = rate
        self.kinds = kinds
        self.stall_s = stall_s
        self.latency_s = latency_s
        self.stats = ProxyStats()
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((host, 0))
        self.port: int = self._listener.getsockname()[1]
        self._open: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._acceptor: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.upstream[0]}:{self.port}"

    # --- lifecycle ------------------------------------------------------------------------------
    def start(self) -> FaultProxy:
        self._listener.listen(128)
        self._acceptor = threading.Thread(target=self._accept, name=f"fault-proxy-{self.port}", daemon=True)
        self._acceptor.start()
        return self

    def stop(self) -> None:
        """Stop accepting, cut every open connection (stalls included) and join the threads."""
        self._stop.set()
        try:
            self._listener.close()
        except OSError:
            pass
        with self._lock:
            socks = list(self._open)
        for s in socks:
            _shutdown(s)
        if self._acceptor is not None:
            self._acceptor.join(timeout=5)
        for t in list(self._threads):
            t.join(timeout=5)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def set_rate(self, rate: float) -> None:
        with self._lock:
            self.rate = rate

    # --- connections ---------------------------------------------------------------------------
    def _accept(self) -> None:
        self._listener.settimeout(0.1)  # so that stop() is noticed at once
        while not self._stop.is_set():
            try:
                conn, _addr = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            t = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            with self._lock:
                self._threads = [x for x in self._threads if x.is_alive()]
                self._threads.append(t)
            t.start()

    def _track(self, s: socket.socket) -> None:
        with self._lock:
            self._open.add(s)

    def _untrack(self, s: socket.socket) -> None:
        with self._lock:
            self._open.discard(s)

    def _choose(self, operation: str) -> str | None:
        with self._lock:
            self.stats.requests += 1
            self.stats.requests_by_operation[operation] += 1
            if self.rate <= 0 or self._rng.random() >= self.rate:
                self.stats.forwarded += 1
                return None
            kind = self.kinds[self._rng.randrange(len(self.kinds))]
            self.stats.faults[kind] += 1
            self.stats.faults_by_operation[operation] += 1
            return kind

    def _serve(self, client: socket.socket) -> None:
        self._track(client)
        try:
            client.settimeout(IO_TIMEOUT_S)
            head, rest = _read_head(client)
            if head is None:
                return
            method, target, headers = _parse_head(head)
            operation = s3_operation(method, target)
            with self._lock:
                self.stats.heads.append((operation, headers))
            fault = self._choose(operation)
            if fault is None:
                if self.latency_s > 0 and self._stop.wait(self.latency_s):
                    return
                self._forward(client, head + rest)
            elif fault == "reset":
                _reset(client)
                return
            elif fault == "stall":
                self._stall(client)
            else:
                self._answer_error(client, fault, headers, len(rest))
        except OSError:
            pass
        finally:
            self._untrack(client)
            try:
                client.close()
            except OSError:
                pass

    def _forward(self, client: socket.socket, first: bytes) -> None:
        upstream = socket.create_connection(self.upstream, timeout=IO_TIMEOUT_S)
        self._track(upstream)
        try:
            upstream.sendall(first)
            pump = threading.Thread(target=_pipe, args=(client, upstream), daemon=True)
            pump.start()
            _pipe(upstream, client)  # moto closes after its answer: that ends the exchange
            _shutdown(client)
            _shutdown(upstream)
            pump.join(timeout=5)
        finally:
            self._untrack(upstream)
            upstream.close()

    def _stall(self, client: socket.socket) -> None:
        """Take whatever the client sends and answer nothing, for `stall_s` (or until stop)."""
        deadline = time.monotonic() + self.stall_s
        client.settimeout(0.2)
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                if not client.recv(256 * 1024):
                    return  # the client gave up (its read timeout): the stall is over for it
            except TimeoutError:
                continue

    @staticmethod
    def _answer_error(client: socket.socket, fault: str, headers: dict[str, str], have: int) -> None:
        status, reason, code, message = _ANSWERS[fault]
        if headers.get("expect", "").lower() != "100-continue":
            # No Expect: the body is on its way; take it all first, so the client reads our
            # answer instead of a reset while it is still sending.
            _drain(client, int(headers.get("content-length", "0") or 0) - have)
        body = _ERROR_XML.format(code=code, message=message).encode()
        client.sendall(
            (
                f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/xml\r\n"
                f"Content-Length: {len(body)}\r\nx-amz-request-id: fault-proxy\r\nConnection: close\r\n\r\n"
            ).encode()
            + body
        )
        _shutdown_write(client)


# --- socket helpers ---------------------------------------------------------------------------------


def _read_head(sock: socket.socket) -> tuple[bytes | None, bytes]:
    buf = b""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            return None, b""
        buf += chunk
        if len(buf) > HEAD_LIMIT:
            return None, b""
    end = buf.index(b"\r\n\r\n") + 4
    return buf[:end], buf[end:]


def _parse_head(head: bytes) -> tuple[str, str, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    method, target, _version = [*lines[0].split(" ", 2), "", ""][:3]
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    return method.upper(), target, headers


def _drain(sock: socket.socket, left: int) -> None:
    while left > 0:
        chunk = sock.recv(min(left, 256 * 1024))
        if not chunk:
            return
        left -= len(chunk)


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while True:
            chunk = src.recv(256 * 1024)
            if not chunk:
                break
            dst.sendall(chunk)
    except OSError:
        pass


def _reset(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def _shutdown(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _shutdown_write(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_WR)
    except OSError:
        pass
