"""A real webhook receiver for tests: an HTTP server on 127.0.0.1 that records raw bodies and headers.

`respond(request) -> status | (status, headers) | HANG` decides each answer; HANG keeps the
connection open without answering until `release()` (or the receiver stops).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

HANG = -1


@dataclass
class Received:
    index: int
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    status: int | None = None
    answered_at: float | None = None

    @property
    def delivery_id(self) -> int:
        return int(self.headers["x-meetstream-delivery"])

    @property
    def event(self) -> str:
        return self.headers["x-meetstream-event"]

    @property
    def signature(self) -> str:
        return self.headers["x-meetstream-signature"]

    def json(self) -> dict[str, Any]:
        doc: dict[str, Any] = json.loads(self.body)
        return doc

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


Responder = Callable[[Received], "int | tuple[int, dict[str, str]]"]


@dataclass
class WebhookReceiver:
    respond: Responder = field(default=lambda _r: 200)
    requests: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._released = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    rec = Received(
                        index=len(receiver.requests),
                        path=self.path,
                        headers={k.lower(): v for k, v in self.headers.items()},
                        body=body,
                        at=time.monotonic(),
                    )
                    receiver.requests.append(rec)
                answer = receiver.respond(rec)
                status, headers = answer if isinstance(answer, tuple) else (answer, {})
                if status == HANG:
                    receiver._released.wait(60)
                    self.close_connection = True
                    return
                rec.status = status
                rec.answered_at = time.monotonic()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=lambda: self._server.serve_forever(poll_interval=0.05),
            name="webhook-receiver",
            daemon=True,
        )
        self._thread.start()

    @property
    def port(self) -> int:
        port: int = self._server.server_address[1]
        return port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def release(self) -> None:
        self._released.set()

    def stop(self) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()

    def snapshot(self) -> list[Received]:
        with self._lock:
            return list(self.requests)

    def delivered(self) -> list[Received]:
        """Requests answered 2xx, in the order they arrived."""
        return [r for r in self.snapshot() if r.ok]

    def wait_for(self, predicate: Callable[[list[Received]], bool], timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while True:
            reqs = self.snapshot()
            if predicate(reqs):
                return reqs
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"receiver condition not met in {timeout} s; got "
                    f"{[(r.delivery_id if 'x-meetstream-delivery' in r.headers else None, r.status) for r in reqs]}"
                )
            time.sleep(0.02)


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not met within {timeout} s")
        time.sleep(0.02)
