"""Audit finding 5 (second half): every `create_bot` started a recording thread in the API
process. Simulated recordings now run in the worker processes, claimed like outbox rows, at most
`simulated_recordings_per_worker` at once per process (API.md "Limits": queued, status stays
Joining); an API process never encodes media.

The API process here runs without workers (`meetstore serve --no-upload-worker`); the worker is a
second container on the same database and data dir with the hooks `meetstore worker` runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from meetstore.background import worker_hooks
from meetstore.container import Container, build_container

from conftest import new_account, sdk_for
from support.bots import bot_params, finished
from support.pipeline import bot_row, wait_until
from support.servers import RunningServer

LONG_S = 120.0  # longer than any test: these meetings end when the test removes the bot


@pytest.fixture
def start_worker() -> Iterator[Callable[[RunningServer], Container]]:
    running: list[tuple[Container, list[Callable[[], None]]]] = []

    def start(server: RunningServer) -> Container:
        container = build_container(server.container.settings)
        running.append((container, [hook(container) for hook in worker_hooks(grace_s=2.0)]))
        return container

    yield start
    for container, stops in running:
        for stop in reversed(stops):
            stop()
        container.close()


def _statuses(server: RunningServer, ids: list[str]) -> list[str]:
    return [bot_row(server.container, b).status for b in ids]


def test_finding_5_simulated_recordings_run_in_workers_at_most_n_each(
    make_server: Callable[..., RunningServer],
    start_worker: Callable[[RunningServer], Container],
    backend: str,
) -> None:
    server = make_server(backend, workers=False, simulated_recordings_per_worker=2)
    client = sdk_for(server, new_account(server).api_key)
    ids = [client.bots.create(bot_params(LONG_S))["bot_id"] for _ in range(3)]
    assert _statuses(server, ids) == ["Joining"] * 3  # queued: the API process records nothing

    worker = start_worker(server)
    wait_until(lambda: _statuses(server, ids).count("Recording") == 2, what="two bots recording")
    recording = [b for b in ids if bot_row(server.container, b).status == "Recording"]
    (queued,) = set(ids) - set(recording)
    # The worker has no room for the third: it waits in the queue, Joining, unclaimed.
    assert bot_row(server.container, queued).status == "Joining"
    assert bot_row(server.container, queued).runtime_credential_hash is None
    assert sorted(worker.runtime.active()) == sorted(recording)
    assert server.container.runtime.active() == []

    # A place frees up: the queued bot is claimed and records.
    client.bots.remove(recording[0])
    wait_until(lambda: bot_row(server.container, queued).status == "Recording", what="the queued bot recording")
    assert sorted(worker.runtime.active()) == sorted([recording[1], queued])

    for bot_id in (recording[1], queued):
        client.bots.remove(bot_id)
    for bot_id in ids:
        detail = finished(client, server.container, bot_id)
        audio = next(a for a in detail["storage"]["artifacts"] if a["kind"] == "audio")
        assert audio["state"] == "uploaded", detail
    assert server.container.runtime.active() == []


def test_finding_5_a_claim_whose_worker_died_is_taken_by_another(
    make_server: Callable[..., RunningServer], start_worker: Callable[[RunningServer], Container]
) -> None:
    server = make_server("sqlite", workers=False, runtime_stale_after_s=1.5, runtime_heartbeat_s=0.2)
    client = sdk_for(server, new_account(server).api_key)
    bot_id = client.bots.create(bot_params(1.0))["bot_id"]
    # A worker claims the bot and dies before its meeting starts: the bot stays Joining, claimed.
    server.container.runtime_claims.claim(bot_id, runtime="simulated")

    start_worker(server)
    detail = finished(client, server.container, bot_id)
    # The lapsed claim was taken again and the meeting recorded; the janitor did not hand the
    # bot in as a runtime that died (that would be Error with no media).
    assert "runtime_lost" not in (bot_row(server.container, bot_id).meeting_data or {})
    states = {a["kind"]: a["state"] for a in detail["storage"]["artifacts"]}
    assert states["audio"] == "uploaded" and states["video"] == "uploaded", detail


def test_finding_5_a_bot_removed_while_queued_is_handed_in_without_media(
    make_server: Callable[..., RunningServer], start_worker: Callable[[RunningServer], Container]
) -> None:
    server = make_server("sqlite", workers=False)
    client = sdk_for(server, new_account(server).api_key)
    bot_id = client.bots.create(bot_params(LONG_S))["bot_id"]
    client.bots.remove(bot_id)
    assert bot_row(server.container, bot_id).status == "Leaving"

    start_worker(server)
    detail = finished(client, server.container, bot_id)
    assert [a["kind"] for a in detail["storage"]["artifacts"]] == ["manifest"], detail
