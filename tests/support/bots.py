"""Helpers for the bot tests: wait for a status, read a bot's spool, know whether uploads run."""

from __future__ import annotations

import hashlib
import io
import time
from pathlib import Path
from typing import Any

import httpx
from meetstream import MeetStream

from meetstore.container import Container

from support.servers import RunningServer

MEETING = "https://meet.google.com/abc-defg-hij"
ORDER = ["Joining", "InMeeting", "Recording", "Leaving", "Stopped", "Done"]


def bot_params(duration_s: float = 1.0, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "meeting_link": MEETING,
        "bot_name": "Recorder",
        "recording_config": {"simulated": {"duration_s": duration_s}},
    }
    body.update(extra)
    return body


def wait_status(
    client: MeetStream, bot_id: str, targets: set[str], timeout: float = 30.0
) -> tuple[str, list[str]]:
    """Poll the status until it is one of `targets`; returns it and every distinct status seen."""
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while True:
        status = client.bots.status(bot_id)["status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        if status in targets:
            return status, seen
        if time.monotonic() > deadline:
            raise AssertionError(f"bot {bot_id} stuck at {status} (seen {seen}), wanted {targets}")
        time.sleep(0.05)


def uploads_implemented(container: Container) -> bool:
    """Whether the upload service has a worker yet (it is a stub while issue 3's other half lands)."""
    cls = type(container.uploads)
    return any(not n.startswith("_") and callable(getattr(cls, n)) for n in vars(cls))


def spool_dir(container: Container, bot_id: str) -> Path:
    return container.settings.spool_dir / bot_id


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


SPOOL_NAME_OF = {"audio": "audio.mp3", "video": "video.mp4", "chat": "chat.json", "manifest": "manifest.json"}


def finished(client: MeetStream, container: Container, bot_id: str, timeout: float = 60.0) -> dict[str, Any]:
    """Wait until the bot's files are final (Done once the upload worker exists, else Stopped)."""
    targets = {"Done"} if uploads_implemented(container) else {"Stopped", "Done"}
    wait_status(client, bot_id, targets, timeout=timeout)
    detail: dict[str, Any] = client.bots.detail(bot_id)
    return detail


def spool_bytes(container: Container, bot_id: str, name: str) -> bytes:
    """A spooled file's plaintext, opened with its bot's key as the upload worker opens it (what
    is on disk is ciphertext)."""
    with container.transactions.read() as tx:
        bot = tx.bots.get(bot_id)
        assert bot is not None
    key = container.spool_keys.data_key(bot.account_id, bot_id)
    with container.spool.open(bot_id, name, key) as f:
        return f.read()


def file_of(container: Container, detail: dict[str, Any], kind: str) -> io.BytesIO:
    """One of a finished bot's files: from the platform store once uploaded there, else from the
    spool."""
    art = next(a for a in detail["storage"]["artifacts"] if a["kind"] == kind)
    location = detail["storage"]["location"]
    store = container.platform.store
    if art["state"] == "uploaded" and location["kind"] == "platform" and hasattr(store, "path_of"):
        return io.BytesIO(store.path_of(art["key"]).read_bytes())
    return io.BytesIO(spool_bytes(container, detail["bot_id"], SPOOL_NAME_OF[kind]))


def claim_headers(server: RunningServer, bot_id: str) -> dict[str, str]:
    """Claim a bot as its runtime (with the runtime token); the headers of its own credential."""
    token = server.container.settings.runtime_token
    assert token is not None
    resp = httpx.post(
        f"{server.url}/internal/v1/bots/{bot_id}/claim",
        headers={"Authorization": f"Bearer {token.get_secret_value()}"},
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    return {"Authorization": f"Bearer {resp.json()['runtime_credential']}"}
