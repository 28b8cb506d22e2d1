"""Run the real app on a loopback port in a thread (uvicorn), for tests that speak HTTP."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn

from meetstore.api.app import create_app
from meetstore.api.main import SERVER_OPTIONS
from meetstore.background import background_hooks
from meetstore.container import Container


def free_port() -> int:
    """A port free now, for a server in another process. Between this and that server's bind,
    any socket of this process bound to port 0 may take it: prefer `listening_socket` or
    `held_port` in-process."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def listening_socket() -> socket.socket:
    """A socket already bound and listening on a port of the kernel's choice (no race)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(256)
    return sock


@contextmanager
def held_port() -> Iterator[int]:
    """A port bound but not listening while the block runs: connections to it are refused, and
    no other socket can take it until the block ends."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        yield port


@dataclass
class RunningServer:
    container: Container
    port: int
    server: uvicorn.Server
    thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api(self) -> str:
        return self.url + "/api/v1"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)


def start_server(container: Container, *, workers: bool = True) -> RunningServer:
    sock = listening_socket()
    port: int = sock.getsockname()[1]
    container.settings.public_base_url = f"http://127.0.0.1:{port}"
    app = create_app(container, background=background_hooks(with_workers=workers))
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", **SERVER_OPTIONS)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, args=([sock],), name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.02)
    return RunningServer(container, port, server, thread)
