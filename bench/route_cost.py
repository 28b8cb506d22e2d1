"""CPU per request of get_audio and of the authenticated no-op (`/api/v1/ping`), through the real
ASGI app called in-process (no sockets, no uvicorn): where a request's cost goes, without the
load generator's noise. Not a figure of `make bench`; a tool for finding what a change costs.

    .venv/bin/python -m bench.route_cost [--requests 4000] [--profile] [--store custom]

The bot's audio goes in through the ingest service, the hand-in and one upload-worker pass (the
local platform store, or with `--store custom` a read_write configuration on a moto server in
this process; SQLite), so the request is answered as a user's would be: the API key, the file's
location and the account's S3 client cached after the warm-up.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import cProfile
import os
import pstats
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from bench.common import recording_bot


async def _call(app: Any, path: str, auth: bytes) -> int:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"bench"), (b"authorization", auth)],
        "client": ("127.0.0.1", 1),
        "server": ("bench", 80),
        "app": app,
    }
    status = 0

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])

    await app(scope, receive, send)
    return status


def _custom_storage(container: Any, account_id: str) -> Any:
    """A read_write configuration on a moto server started here (its bucket made first)."""
    import urllib.request

    from moto.server import ThreadedMotoServer

    from meetstore.services.storage_config import StorageConfigInput

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/bench-route", method="PUT")).close()
    container.storage.put(
        account_id,
        StorageConfigInput(
            bucket_name="bench-route",
            region="us-east-1",
            access_key_id=SecretStr("testing"),
            secret_key=SecretStr("testing"),
            endpoint_url=endpoint,
        ),
    )
    return server


async def _measure(requests: int, profile: bool, store: str) -> None:
    from meetstore.adapters.db.migrate import upgrade
    from meetstore.api.app import create_app, tune_gc_for_serving
    from meetstore.config import Settings
    from meetstore.container import build_container
    from meetstore.worker.uploads import UploadWorker

    settings = Settings(
        data_dir=Path(tempfile.mkdtemp(prefix="meetstore-bench-route-")),
        master_key=SecretStr(base64.b64encode(os.urandom(32)).decode()),
        upload_worker=False,
        rate_limit_per_minute=10**9,
        rate_limit_burst=10**9,
        allow_private_endpoints=True,
    )
    container = build_container(settings)
    upgrade(container.db)
    account = container.accounts.create("bench")
    moto = _custom_storage(container, account.account_id) if store == "custom" else None
    bot = recording_bot(account.account_id, datetime.now(UTC))
    with container.db.session() as s:
        s.add(bot)
    container.ingest.save_file(bot.id, "audio.mp3", [uuid.uuid4().bytes * 64])
    container.handin.left(bot.id)
    worker = UploadWorker(container.uploads, settings, 4)
    while worker.run_once():
        pass
    app = create_app(container)
    tune_gc_for_serving()
    auth = f"Token {account.api_key}".encode()
    audio = f"/api/v1/bots/{bot.id}/get_audio"
    async with app.router.lifespan_context(app):
        for path in (audio, "/api/v1/ping"):
            for _ in range(300):
                status = await _call(app, path, auth)
                assert status == 200, (path, status)
        for label, path in (("ping", "/api/v1/ping"), ("get_audio", audio)) * 2:
            started = time.process_time()
            for _ in range(requests):
                await _call(app, path, auth)
            print(f"{label:9} {(time.process_time() - started) / requests * 1e6:6.0f} us of CPU per request")
        if profile:
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(requests):
                await _call(app, audio, auth)
            profiler.disable()
            pstats.Stats(profiler).sort_stats(os.environ.get("SORT", "tottime")).print_stats(os.environ.get("FILTER", ""), 40)
    container.close()
    if moto is not None:
        moto.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--profile", action="store_true", help="cProfile get_audio after measuring")
    parser.add_argument(
        "--store", choices=("platform", "custom"), default="platform", help="where the bot's audio is written"
    )
    args = parser.parse_args()
    asyncio.run(_measure(args.requests, args.profile, args.store))


if __name__ == "__main__":
    main()
