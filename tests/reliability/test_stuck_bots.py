"""Bots whose runtime died: handed in by the upload worker's janitor, nothing recorded is lost.

A runtime that dies with its process leaves its bots Joining/InMeeting/Recording forever. The
runtime shows it is alive (`bots.runtime_seen_at`: the simulator's heartbeat, or any ingest API
call of an external runtime); the janitor hands a bot whose runtime went silent for
`runtime_stale_after_s` to "left" with the files already complete in its spool.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
import time
from collections.abc import Callable

import httpx

from meetstore.adapters.db.tables import Bot

from .conftest import configure_custom, object_sha256
from conftest import new_account, sdk_for
from support.bots import bot_params, claim_headers, wait_status
from support.moto_s3 import MotoS3
from support.pipeline import CALLBACK_URL, artifacts, bot_row, events, wait_done
from support.servers import RunningServer

STALE_S = 1.5


_CLAIMED: dict[str, dict[str, str]] = {}


def runtime_client(server: RunningServer, bot_id: str) -> httpx.Client:
    """The bot's runtime: it claims the bot once, then speaks for it with its credential."""
    if bot_id not in _CLAIMED:
        _CLAIMED[bot_id] = claim_headers(server, bot_id)
    return httpx.Client(base_url=f"{server.url}/internal/v1/bots/{bot_id}", headers=_CLAIMED[bot_id], timeout=30)


def test_a_bot_whose_runtime_died_is_handed_in_and_nothing_is_lost(
    make_server: Callable[..., RunningServer], moto: MotoS3
) -> None:
    server = make_server(
        "sqlite", bot_runtime="external", runtime_stale_after_s=STALE_S, runtime_heartbeat_s=0.2
    )
    account_id, api_key, bucket = configure_custom(server, moto)
    client = sdk_for(server, api_key)
    dead = client.bots.create(bot_params(callback_url=CALLBACK_URL))["bot_id"]
    alive = client.bots.create(bot_params())["bot_id"]

    audio = os.urandom(300_000)
    chat = b'[{"sender": "Ada", "text": "the runtime dies after this"}]'
    with runtime_client(server, dead) as rt:
        for status in ("InMeeting", "Recording"):
            assert rt.post("/status", json={"status": status}).status_code == 200
        assert rt.put("/files/audio.mp3", content=audio).status_code == 201
        assert rt.put("/files/chat.json", content=chat).status_code == 201
    # ...and then nothing more from that runtime: it died with its process.

    # The other bot's runtime is alive: it polls its status, as a runtime does, all along.
    stop = threading.Event()

    def poll() -> None:
        with runtime_client(server, alive) as rt:
            rt.post("/status", json={"status": "Recording"})
            while not stop.wait(0.2):
                rt.get("/status")

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    try:
        started = time.monotonic()
        wait_done(server.container, dead, timeout=30)
        took = time.monotonic() - started
        time.sleep(STALE_S)  # a full staleness period more for the live one
        assert bot_row(server.container, alive).status == "Recording"
    finally:
        stop.set()
        poller.join(timeout=5)
    assert took < STALE_S + 10
    print(
        "FIGURES stuck_bot",
        json.dumps({"stale_after_s": STALE_S, "done_after_s": round(took, 2)}),
        file=sys.stderr,
    )

    bot = bot_row(server.container, dead)
    assert bot.meeting_data is not None
    assert bot.meeting_data["runtime_lost"]["status"] == "Recording"
    rows = artifacts(server.container, dead)
    assert sorted(rows) == ["audio.mp3", "chat.json", "manifest.json"]
    assert {r.state for r in rows.values()} == {"uploaded"}
    for name, data in (("audio.mp3", audio), ("chat.json", chat)):
        key = rows[name].key
        assert object_sha256(moto, bucket, key) == (len(data), hashlib.sha256(data).hexdigest())
    names = [e["event"] for e in events(server.container, dead)]
    assert names.count("bot.stopped") == 1 and names[-1] == "bot.done"
    assert client.bots.status(dead)["status"] == "Done"

    # The live bot leaves normally afterwards.
    with runtime_client(server, alive) as rt:
        assert rt.post("/left").status_code == 200
    wait_done(server.container, alive, timeout=30)
    alive_row = bot_row(server.container, alive)
    assert "runtime_lost" not in (alive_row.meeting_data or {})
    assert account_id


def test_the_simulated_runtime_beats_while_its_meeting_runs(
    make_server: Callable[..., RunningServer],
) -> None:
    """The simulator records its bots' liveness every `runtime_heartbeat_s` while they run."""
    server = make_server("sqlite", runtime_heartbeat_s=0.2, runtime_stale_after_s=STALE_S)
    acct = new_account(server)
    client = sdk_for(server, acct.api_key)
    bot_id = client.bots.create(bot_params(duration_s=2.5, video_required=False))["bot_id"]
    wait_status(client, bot_id, {"Recording"}, timeout=20)

    seen: list[float] = []
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline:
        with server.container.db.session() as s:
            row = s.get(Bot, bot_id)
            assert row is not None
            if row.runtime_seen_at is not None and row.status == "Recording":
                seen.append(row.runtime_seen_at.timestamp())
        time.sleep(0.1)
    assert len(set(seen)) >= 3, seen  # it kept beating while recording
    status, _ = wait_status(client, bot_id, {"Done"}, timeout=60)
    assert "runtime_lost" not in (bot_row(server.container, bot_id).meeting_data or {})
    assert status == "Done"
