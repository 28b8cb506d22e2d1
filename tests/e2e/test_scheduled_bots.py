"""create_bot with `join_at` through the SDK: the bot is Scheduled (event bot.scheduled) until its
time, then joins and records; remove_bot cancels a scheduled bot; a past time means now."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from meetstream import BadRequestError

from conftest import new_account, sdk_for
from support.bots import wait_status
from support.pipeline import events
from support.servers import RunningServer


def at(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def when(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def body(**extra: Any) -> dict[str, Any]:
    return {
        "meeting_link": "https://zoom.us/j/123",
        "callback_url": "https://example.com/hook",
        "video_required": False,
        "recording_config": {"simulated": {"duration_s": 1.0}},
        **extra,
    }


def test_a_scheduled_bot_joins_at_its_time(sqlite_server: RunningServer) -> None:
    client = sdk_for(sqlite_server, new_account(sqlite_server).api_key)
    join_at = at(4.0)
    created = client.bots.create(body(join_at=join_at))
    bot_id = created["bot_id"]
    assert created["status"] == "Scheduled"
    time.sleep(1.0)
    status = client.bots.status(bot_id)["status"]
    if datetime.now(UTC) < when(join_at) - timedelta(seconds=0.5):  # a loaded machine may be late
        assert status == "Scheduled"  # not before its time

    wait_status(client, bot_id, {"Done"}, timeout=60)
    details = client.bots.detail(bot_id)["bot_details"]
    timeline = details["StatusTimeline"]
    assert list(timeline) == ["Scheduled", "Joining", "InMeeting", "Recording", "Leaving", "Stopped", "Done"]
    assert when(timeline["Joining"]["timestamp"]) >= when(join_at)  # not before its time
    assert details["RequestPayload"]["join_at"] == join_at
    names = [e.get("event") for e in events(sqlite_server.container, bot_id)]
    assert names[:2] == ["bot.scheduled", "bot.joining"] and names.count("bot.joining") == 1


def test_remove_bot_cancels_a_scheduled_bot_and_a_past_time_means_now(sqlite_server: RunningServer) -> None:
    client = sdk_for(sqlite_server, new_account(sqlite_server).api_key)
    later = client.bots.create(body(join_at=at(3600)))["bot_id"]
    client.bots.remove(later)
    wait_status(client, later, {"Stopped", "Done"}, timeout=30)
    assert "Recording" not in client.bots.detail(later)["bot_details"]["StatusTimeline"]

    now = client.bots.create(body(join_at=at(-60)))
    assert now["status"] == "Joining"
    wait_status(client, now["bot_id"], {"Done"}, timeout=60)


@pytest.mark.parametrize("join_at", ["tomorrow", "2026-12-03T10:00:00", 1733220000])
def test_a_join_at_that_is_not_an_rfc3339_time_is_400(sqlite_server: RunningServer, join_at: Any) -> None:
    client = sdk_for(sqlite_server, new_account(sqlite_server).api_key)
    with pytest.raises(BadRequestError) as refused:
        client.bots.create(body(join_at=join_at))
    assert refused.value.body["errors"][0]["field"] == "join_at"


def test_a_scheduled_bot_waits_for_no_runtime_and_a_runtime_cannot_start_it_early(
    make_server: Any,
) -> None:
    # An external runtime's bot: nothing claims it but the dispatcher, and the stale-runtime
    # sweep (here after 0.2 s of silence) must not take a bot that has no runtime yet for dead.
    server = make_server("sqlite", bot_runtime="external", runtime_stale_after_s=0.2)
    client = sdk_for(server, new_account(server).api_key)
    bot_id = client.bots.create(body(join_at=at(3600)))["bot_id"]
    time.sleep(0.5)
    assert server.container.handin.sweep_stale_runtimes() == []
    assert client.bots.status(bot_id)["status"] == "Scheduled"
    claim = httpx.post(
        f"{server.url}/internal/v1/bots/{bot_id}/claim", headers={"Authorization": f"Bearer {runtime_token(server)}"}
    )
    assert claim.status_code == 200, claim.text
    early = httpx.post(
        f"{server.url}/internal/v1/bots/{bot_id}/status",
        json={"status": "InMeeting"},
        headers={"Authorization": f"Bearer {claim.json()['runtime_credential']}"},
    )
    assert early.status_code == 409 and early.json()["status"] == "Scheduled", early.text
    # The dispatcher's list of bots waiting for a runtime does not offer it either.
    waiting = httpx.get(
        f"{server.url}/internal/v1/bots?status=Joining", headers={"Authorization": f"Bearer {runtime_token(server)}"}
    )
    assert bot_id not in {b["bot_id"] for b in waiting.json()["bots"]}


def runtime_token(server: RunningServer) -> str:
    token = server.container.settings.runtime_token
    assert token is not None
    return token.get_secret_value()
