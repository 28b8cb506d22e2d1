"""Helpers of the security tests: a long-lived app for a module, auth headers, seeded tenants."""

from __future__ import annotations

import base64
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from meetstore.adapters.db.migrate import upgrade
from meetstore.api.app import create_app
from meetstore.config import Settings
from meetstore.container import Container, build_container

from conftest import PgSchemas, settings_for
from support.bots import claim_headers
from support.moto_s3 import MotoS3
from support.servers import RunningServer, start_server


def start_app(
    data_dir: Path, pg: PgSchemas | None, backend: str = "sqlite", *, workers: bool = True, **overrides: Any
) -> RunningServer:
    """The real app on a loopback port (like conftest's make_server, for module-scoped fixtures)."""
    url = None if backend == "sqlite" or pg is None else pg.new_url()
    container = build_container(settings_for(data_dir, url, **overrides))
    upgrade(container.db)
    return start_server(container, workers=workers)


def stop_app(server: RunningServer) -> None:
    server.stop()
    server.container.close()


def runtime_token(server: RunningServer) -> str:
    token = server.container.settings.runtime_token
    assert token is not None
    return token.get_secret_value()


def api_headers(api_key: str) -> dict[str, str]:
    return {"Authorization": f"Token {api_key}"}


def runtime_headers(server: RunningServer) -> dict[str, str]:
    """The dispatcher's: lists and claims bots."""
    return {"Authorization": f"Bearer {runtime_token(server)}"}


def bot_runtime_headers(server: RunningServer, bot_id: str) -> dict[str, str]:
    """Claims the bot and returns the headers of its own runtime credential."""
    return claim_headers(server, bot_id)


def openapi_document() -> dict[str, Any]:
    """The app's OpenAPI document, built without a server (schemathesis needs it at collection time).

    The fuzz test checks that the running app serves exactly this document at /openapi.json.
    """
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp), master_key=SecretStr(base64.b64encode(os.urandom(32)).decode())
        )
        container = build_container(settings)
        try:
            doc: dict[str, Any] = create_app(container).openapi()
            return doc
        finally:
            container.close()


def moto_writer(moto: MotoS3, bucket: str) -> Callable[[str, bytes, str], None]:
    admin = moto.admin

    def write(key: str, data: bytes, content_type: str) -> None:
        admin.put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type)

    return write


def storage_body(moto: MotoS3, bucket: str, keys: tuple[str, str], **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "provider": "aws",
        "bucket_name": bucket,
        "region": "us-east-1",
        "access_key_id": keys[0],
        "secret_key": keys[1],
        "endpoint_url": moto.endpoint,
    }
    body.update(extra)
    return body


def container_of(server: RunningServer) -> Container:
    return server.container


class Recorder:
    """An HTTP server on 127.0.0.1 that answers every request the same way and records each one."""

    def __init__(self, status: int = 200, headers: dict[str, str] | None = None) -> None:
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.requests: list[tuple[str, str]] = []
        self.status = status
        self.headers = dict(headers or {})
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                recorder.requests.append((self.command, self.path))
                self.send_response(recorder.status)
                for k, v in recorder.headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", "0")
                self.end_headers()

            do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _any

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05})
        self._thread.daemon = True
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
