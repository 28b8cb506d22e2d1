"""Spool full: a real ENOSPC on ingest is a clear 507 to the runtime, and nothing partial is kept.

The spool is a 2 MB file system of its own (tmpfs, or a loop-mounted ext4 image); a runtime PUTs a
file bigger than that through the ingest API. The answer is 507 `insufficient_storage`, the spool
holds no partial file, a smaller file still goes in afterwards (the space was given back), and
"left" pins and uploads only the complete files.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx

from conftest import new_account, sdk_for
from support.bots import bot_params, claim_headers
from support.pipeline import artifacts, wait_done
from support.servers import RunningServer

MB = 1024 * 1024
FS_SIZE = 2 * MB
BIG = 16 * FS_SIZE  # far bigger than the whole file system


def spool_files(spool: Path) -> list[str]:
    return sorted(p.relative_to(spool).as_posix() for p in spool.rglob("*") if p.is_file())


def test_spool_full_answers_507_and_keeps_nothing_partial(
    make_server: Callable[..., RunningServer], tiny_fs: Callable[[int], Path]
) -> None:
    spool = tiny_fs(FS_SIZE)
    server = make_server("sqlite", bot_runtime="external", spool_dir_override=spool)
    assert server.container.settings.spool_dir == spool
    acct = new_account(server)
    client = sdk_for(server, acct.api_key)
    bot_id = client.bots.create(bot_params())["bot_id"]
    runtime = httpx.Client(
        base_url=f"{server.url}/internal/v1/bots/{bot_id}", headers=claim_headers(server, bot_id), timeout=30
    )

    chat = b'[{"sender": "Ada", "text": "before the disk filled up"}]'
    assert runtime.put("/files/chat.json", content=chat).status_code == 201

    # A file far bigger than the whole file system, with a Content-Length.
    started = time.monotonic()
    resp = runtime.put("/files/audio.mp3", content=os.urandom(BIG))
    elapsed = time.monotonic() - started
    assert resp.status_code == 507, resp.text
    body = resp.json()
    assert body["code"] == "insufficient_storage" and "disk space" in body["message"]
    assert elapsed < 10
    assert spool_files(spool) == [f"{bot_id}/.meta/chat.json.json", f"{bot_id}/chat.json"]

    # The same without a length (chunked): the runtime streams until the disk is full.
    def chunks() -> Iterator[bytes]:
        for _ in range(6):
            yield os.urandom(MB // 2)

    resp = runtime.put("/files/video.mp4", content=chunks())
    assert resp.status_code == 507, resp.text
    assert resp.json()["code"] == "insufficient_storage"
    assert spool_files(spool) == [f"{bot_id}/.meta/chat.json.json", f"{bot_id}/chat.json"]

    # The space was given back: a file that fits goes in.
    raw = b'{"segments": []}'
    assert runtime.put("/files/transcript/raw.json", content=raw).status_code == 201

    left = runtime.post("/left")
    assert left.status_code == 200, left.text
    assert left.json()["artifacts"] == 3  # chat, raw transcript, manifest: no audio, no video
    rows = artifacts(server.container, bot_id)
    assert sorted(rows) == ["chat.json", "manifest.json", "transcript/raw.json"]
    wait_done(server.container, bot_id, timeout=30)
    assert {r.state for r in artifacts(server.container, bot_id).values()} == {"uploaded"}
    # Read where it was uploaded: the in-process worker may delete the spool copy right after "left".
    store = server.container.platform.store
    manifest = store.path_of(rows["manifest.json"].key).read_bytes()
    assert b"audio.mp3" not in manifest and b"video.mp4" not in manifest
    runtime.close()


def test_spool_full_at_left_time_is_507_and_retryable(
    make_server: Callable[..., RunningServer], tiny_fs: Callable[[int], Path]
) -> None:
    """A spool so full that not even the manifest fits: "left" says 507 and changes nothing;
    once space is back, "left" succeeds and every complete file is uploaded."""
    spool = tiny_fs(FS_SIZE)
    server = make_server("sqlite", bot_runtime="external", spool_dir_override=spool)
    acct = new_account(server)
    bot_id = sdk_for(server, acct.api_key).bots.create(bot_params())["bot_id"]
    runtime = httpx.Client(
        base_url=f"{server.url}/internal/v1/bots/{bot_id}", headers=claim_headers(server, bot_id), timeout=30
    )
    audio = os.urandom(FS_SIZE // 2)
    assert runtime.put("/files/audio.mp3", content=audio).status_code == 201
    filler = spool / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:  # someone else fills the disk up to the last byte
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(fd)
    resp = runtime.post("/left")
    assert resp.status_code == 507, resp.text
    assert resp.json()["code"] == "insufficient_storage"
    assert artifacts(server.container, bot_id) == {}
    assert not (spool / bot_id / "manifest.json").exists()

    filler.unlink()
    resp = runtime.post("/left")
    assert resp.status_code == 200 and resp.json()["artifacts"] == 2
    wait_done(server.container, bot_id, timeout=30)
    assert artifacts(server.container, bot_id)["audio.mp3"].state == "uploaded"
    runtime.close()
