"""Database restart: a PostgreSQL of the test's own is stopped (`-m immediate`) while uploads and
simulated meetings run, then started again.

Meanwhile the API answers 503 `unavailable` (the envelope, with Retry-After), never 500, also when
authenticating a key needs the database; `/readyz` says the database is down. Afterwards nothing is
lost: every artifact lands byte-identical, every bot reaches Done, and no worker or simulator
thread died of the outage.
"""

from __future__ import annotations

import hashlib
import json
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from meetstore.container import Container

from .conftest import HashingChunks, configure_custom, object_sha256, open_multipart_uploads
from conftest import new_account, sdk_for
from support.bots import bot_params, wait_status
from support.moto_s3 import MotoS3
from support.pg_throwaway import ThrowawayPostgres
from support.pipeline import artifacts, events, pinned_bot, wait_done, wait_until
from support.servers import RunningServer

MB = 1024 * 1024
OUTAGE_S = 4.0


def get(server: RunningServer, path: str, api_key: str | None = None) -> httpx.Response:
    headers = {"Authorization": f"Token {api_key}"} if api_key else {}
    return httpx.get(server.url + path, headers=headers, timeout=30)


def assert_unavailable(resp: httpx.Response) -> None:
    assert resp.status_code == 503, (resp.status_code, resp.text)
    body = resp.json()
    assert body["code"] == "unavailable" and body["message"], body
    assert int(resp.headers["Retry-After"]) > 0


def worker_threads_alive(container: Container) -> dict[str, bool]:
    return {name: bool(probe()) for name, probe in container.liveness.items()}


def test_readyz_is_ready_then_503_while_the_database_is_down(
    server_on: Callable[..., RunningServer], throwaway_pg: ThrowawayPostgres
) -> None:
    server = server_on(throwaway_pg.url)
    resp = get(server, "/readyz")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["checks"] == {"database": True, "workers": True}
    assert body["workers"] == {"upload_worker": True, "webhook_worker": True, "lifecycle_worker": True}

    throwaway_pg.stop_immediate()
    started = time.monotonic()
    resp = get(server, "/readyz")
    assert time.monotonic() - started < 10
    assert_unavailable(resp)
    assert resp.json()["checks"] == {"database": False, "workers": True}
    assert get(server, "/healthz").status_code == 200  # the process itself is up

    throwaway_pg.start()
    wait_until(lambda: get(server, "/readyz").status_code == 200, 20, "ready again")


def test_readyz_without_in_process_workers_checks_the_database_only(
    server_on: Callable[..., RunningServer],
) -> None:
    server = server_on(None, workers=False)
    resp = get(server, "/readyz")
    assert resp.status_code == 200
    assert resp.json()["checks"] == {"database": True} and "workers" not in resp.json()


def during_outage(server: RunningServer, stranger_key: str, api_key: str, bot_id: str) -> int:
    """What clients see while the database is down; returns how many 503s were checked."""
    checked = 0
    for path, key in (
        ("/api/v1/bots", api_key),
        ("/api/v1/admin/configs", api_key),
        (f"/api/v1/bots/{bot_id}/detail", api_key),
        ("/api/v1/bots", stranger_key),  # authentication itself needs the database
        ("/api/v1/admin/configs", "ms_not-a-key-we-can-check-right-now"),
    ):
        assert_unavailable(get(server, path, key))
        checked += 1
    token = server.container.settings.runtime_token
    assert token is not None
    ingest = httpx.get(
        f"{server.url}/internal/v1/bots/{bot_id}/status",
        headers={"Authorization": f"Bearer {token.get_secret_value()}"},
        timeout=30,
    )
    assert_unavailable(ingest)
    ready = get(server, "/readyz")
    assert_unavailable(ready)
    assert ready.json()["checks"] == {"database": False, "workers": True}
    return checked + 2


def restarts_while_uploading(
    server_on: Callable[..., RunningServer],
    pg: ThrowawayPostgres,
    moto: MotoS3,
    *,
    rounds: int,
    audio_mb: list[int],
    outage_s: float,
) -> dict[str, Any]:
    server = server_on(
        pg.url,
        multipart_threshold_mb=5,
        multipart_chunksize_mb=5,
        transfer_max_concurrency=1,
        lease_seconds=5.0,
        health_interval_s=0.5,
        upload_concurrency=2,
    )
    container = server.container
    accounts = [configure_custom(server, moto) for _ in range(3)]
    stranger = new_account(server, "never used its key yet")  # its key is in no cache
    health_threads = [t for t in threading.enumerate() if t.name == "storage-health"]
    assert len(health_threads) == 1

    expected: dict[str, dict[str, tuple[int, str]]] = {}  # pinned bots: files we know
    simulated: list[tuple[str, str]] = []  # (bot_id, api_key): meetings the simulator records
    bucket_of: dict[str, str] = {}
    outages: list[float] = []
    checked = 0
    started = time.monotonic()
    for r in range(rounds):
        # Simulated meetings still recording, and pinned bots with big files (uploads in flight).
        for _account_id, api_key, bucket in accounts[:2]:
            params = bot_params(duration_s=3.0, video_required=False)
            bot_id = sdk_for(server, api_key).bots.create(params)["bot_id"]
            simulated.append((bot_id, api_key))
            bucket_of[bot_id] = bucket
        for bot_id, api_key in simulated[-2:]:
            wait_status(sdk_for(server, api_key), bot_id, {"Recording"}, timeout=20)
        for n, (account_id, _key, bucket) in enumerate(accounts):
            audio = HashingChunks(audio_mb[(r + n) % len(audio_mb)] * MB)
            chat = f'[{{"sender": "Ada", "text": "round {r}: kept across a database restart"}}]'.encode()
            bot = pinned_bot(container, account_id, {"audio.mp3": iter(audio), "chat.json": chat})
            expected[bot.bot_id] = {
                "audio.mp3": (audio.size, audio.sha256),
                "chat.json": (len(chat), hashlib.sha256(chat).hexdigest()),
            }
            bucket_of[bot.bot_id] = bucket
        last_bucket = accounts[-1][2]
        wait_until(lambda b=last_bucket: bool(open_multipart_uploads(moto, b)), 30, "an upload in flight")

        # --- the outage -----------------------------------------------------------------------
        pg.stop_immediate()
        down = time.monotonic()
        checked += during_outage(server, stranger.api_key, simulated[-1][1], simulated[-1][0])
        time.sleep(max(0.0, outage_s - (time.monotonic() - down)))
        assert worker_threads_alive(container) == {
            "upload_worker": True,
            "webhook_worker": True,
            "lifecycle_worker": True,
        }
        pg.start()
        outages.append(round(time.monotonic() - down, 1))
        wait_until(lambda: get(server, "/readyz").status_code == 200, 30, "ready again")

    # --- afterwards: nothing lost -----------------------------------------------------------------
    for bot_id in expected:
        wait_done(container, bot_id, timeout=180)
    for bot_id, key in simulated:
        wait_status(sdk_for(server, key), bot_id, {"Done"}, timeout=180)
    attempts = 0
    artifacts_total = 0
    for bot_id, files in expected.items():
        rows = artifacts(container, bot_id)
        assert sorted(rows) == ["audio.mp3", "chat.json", "manifest.json"]
        assert {r.state for r in rows.values()} == {"uploaded"}, {
            n: (r.state, r.attempts, r.last_error_code, r.last_error_message) for n, r in rows.items()
        }
        for name, want in files.items():
            assert object_sha256(moto, bucket_of[bot_id], rows[name].key) == want
        names = [e["event"] for e in events(container, bot_id)]
        assert names.count("audio.processed") == 1 and names.count("bot.done") == 1
        attempts += sum(r.attempts for r in rows.values())
        artifacts_total += len(rows)
    for bot_id, _key in simulated:
        rows = artifacts(container, bot_id)
        assert {"audio.mp3", "chat.json", "manifest.json"} <= set(rows)
        assert {r.state for r in rows.values()} == {"uploaded"}
        for row in rows.values():
            assert object_sha256(moto, bucket_of[bot_id], row.key) == (row.size, row.sha256)
        attempts += sum(r.attempts for r in rows.values())
        artifacts_total += len(rows)
    for _a, _k, bucket in accounts:
        assert open_multipart_uploads(moto, bucket) == []
    assert worker_threads_alive(container) == {
        "upload_worker": True,
        "webhook_worker": True,
        "lifecycle_worker": True,
    }
    assert all(t.is_alive() for t in health_threads)
    figures = {
        "rounds": rounds,
        "outages_s": outages,
        "pinned_bots": len(expected),
        "simulated_bots": len(simulated),
        "artifacts": artifacts_total,
        "upload_attempts": attempts,
        "audio_mb": audio_mb,
        "unavailable_answers_checked": checked,
        "duration_s": round(time.monotonic() - started, 1),
    }
    print("FIGURES db_restart", json.dumps(figures), file=sys.stderr)
    return figures


def test_database_restart_while_uploading_loses_nothing(
    server_on: Callable[..., RunningServer], throwaway_pg: ThrowawayPostgres, moto: MotoS3
) -> None:
    figures = restarts_while_uploading(
        server_on, throwaway_pg, moto, rounds=1, audio_mb=[30, 35, 40], outage_s=OUTAGE_S
    )
    assert figures["outages_s"][0] >= OUTAGE_S


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_database_restarted_five_times_while_uploading_loses_nothing(
    server_on: Callable[..., RunningServer], throwaway_pg: ThrowawayPostgres, moto: MotoS3
) -> None:
    figures = restarts_while_uploading(
        server_on, throwaway_pg, moto, rounds=5, audio_mb=[40, 60, 80, 100], outage_s=8.0
    )
    assert len(figures["outages_s"]) == 5
