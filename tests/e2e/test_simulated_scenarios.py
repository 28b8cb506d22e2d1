"""The simulated meeting's scenarios (API.md's table under "Bots"), one row each, through the
official SDK: the statuses the bot passes through, the webhooks delivered to a real receiver (read
with the SDK's parse_webhook / is_terminal / describe_stop), and what media it leaves."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import av
import httpx
import pytest
from meetstream import MeetStream, NotFoundError, describe_stop, is_terminal, parse_webhook

from conftest import new_account, sdk_for
from support.bots import wait_status
from support.servers import RunningServer
from support.webhook_receiver import Received, WebhookReceiver

PROCESSED = {"audio.processed", "transcription.processed"}


@dataclass(frozen=True)
class Scenario:
    name: str
    simulated: dict[str, Any]
    final: str
    timeline: list[str]
    events: list[str]
    """The lifecycle events in order (the *.processed ones, which come in any order, left out)."""
    stopped_as: str
    """`bot_status` of the terminal bot.stopped, which the SDK's describe_stop explains."""
    media_s: float | None
    """How long the audio is; None: no media (nothing but the manifest, or nothing at all)."""
    manifest: bool = True
    automatic_leave: dict[str, float] = field(default_factory=dict)


SCENARIOS = [
    Scenario(
        "admitted_from_the_waiting_room",
        {"duration_s": 1.0, "waiting_room_s": 1.0},
        "Done",
        ["Joining", "InWaitingRoom", "InMeeting", "Recording", "Leaving", "Stopped", "Done"],
        ["bot.joining", "bot.in_waiting_room", "bot.inmeeting", "bot.recording", "bot.leaving", "bot.stopped", "bot.done"],
        "Stopped",
        1.0,
    ),
    Scenario(
        "nobody_admits_it_in_time",
        {"duration_s": 1.0, "waiting_room_s": 30.0},
        "NotAllowed",
        ["Joining", "InWaitingRoom", "NotAllowed"],
        ["bot.joining", "bot.in_waiting_room", "bot.notallowed", "bot.stopped"],
        "NotAllowed",
        None,
        manifest=False,
        automatic_leave={"waiting_room_timeout": 1.0},
    ),
    Scenario(
        "the_host_denies_it",
        {"duration_s": 1.0, "admit": False},
        "Denied",
        ["Joining", "InWaitingRoom", "Denied"],
        ["bot.joining", "bot.in_waiting_room", "bot.denied", "bot.stopped"],
        "Denied",
        None,
        manifest=False,
    ),
    Scenario(
        "nobody_joins",
        {"duration_s": 1.0, "participants": 0},
        "Done",
        ["Joining", "InMeeting", "Leaving", "Stopped", "Done"],
        ["bot.joining", "bot.inmeeting", "bot.leaving", "bot.stopped", "bot.done"],
        "Stopped",
        None,
        automatic_leave={"noone_joined_timeout": 1.0},
    ),
    Scenario(
        "kicked",
        {"duration_s": 30.0, "kick_at_s": 1.5},
        "Done",
        ["Joining", "InMeeting", "Recording", "Leaving", "Stopped", "Done"],
        ["bot.joining", "bot.inmeeting", "bot.recording", "bot.kicked", "bot.stopped", "bot.done"],
        "Stopped",
        1.5,
    ),
    Scenario(
        "the_runtime_fails",
        {"duration_s": 30.0, "fail_at_s": 1.5},
        "Done",
        ["Joining", "InMeeting", "Recording", "Error", "Stopped", "Done"],
        ["bot.joining", "bot.inmeeting", "bot.recording", "bot.failed", "bot.stopped", "bot.done"],
        "Error",
        1.5,
    ),
]
FAILURES = {"bot.failed", "bot.denied", "bot.notallowed"}


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver()
    yield r
    r.stop()


def audio_seconds(url: str) -> float:
    resp = httpx.get(url, timeout=30)
    assert resp.status_code == 200, resp.text
    with av.open(io.BytesIO(resp.content)) as container:
        stream = container.streams.audio[0]
        assert stream.duration is not None and stream.time_base is not None
        return float(stream.duration * stream.time_base)


def delivered(receiver: WebhookReceiver, last: str, secret: str) -> list[dict[str, Any]]:
    """Every event up to `last`, each verified and parsed by the SDK."""
    reqs: list[Received] = receiver.wait_for(lambda rs: any(r.ok and r.event == last for r in rs), timeout=60)
    time.sleep(0.2)  # nothing may follow the last one; give a stray event the time to show
    reqs = receiver.snapshot()
    return [parse_webhook(r.body, r.signature, secret) for r in reqs]


def stamp(stage: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(stage["timestamp"]).replace("Z", "+00:00"))


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_a_simulated_scenario(server: RunningServer, receiver: WebhookReceiver, scenario: Scenario) -> None:
    account = new_account(server)
    client: MeetStream = sdk_for(server, account.api_key)
    body: dict[str, Any] = {
        "meeting_link": "https://zoom.us/j/123",
        "callback_url": receiver.url,
        "video_required": False,
        "recording_config": {"simulated": scenario.simulated},
    }
    if scenario.automatic_leave:
        body["automatic_leave"] = scenario.automatic_leave
    bot_id = client.bots.create(body)["bot_id"]

    status, _ = wait_status(client, bot_id, {scenario.final}, timeout=60)
    assert status == scenario.final
    last = "bot.done" if scenario.final == "Done" else "bot.stopped"
    events = delivered(receiver, last, account.webhook_secret)
    names = [e["event"] for e in events]
    assert [n for n in names if n not in PROCESSED] == scenario.events
    assert set(names) - set(scenario.events) <= PROCESSED
    for event in events:
        assert event["bot_event"] == event["event"] and event["bot_id"] == bot_id
        assert event["status_code"] == (500 if event["event"] in FAILURES else 200)
    (stopped,) = [e for e in events if is_terminal(e)]
    assert stopped["event"] == "bot.stopped" and stopped["bot_status"] == scenario.stopped_as
    assert describe_stop(stopped) == describe_stop({"bot_status": scenario.stopped_as})
    assert describe_stop(stopped) != describe_stop({"bot_status": None, "message": "?"})

    detail = client.bots.detail(bot_id)
    timeline = detail["bot_details"]["StatusTimeline"]
    assert list(timeline) == scenario.timeline
    kinds = sorted(a["kind"] for a in detail["storage"]["artifacts"])
    if scenario.media_s is None:
        assert kinds == (["manifest"] if scenario.manifest else [])
        with pytest.raises(NotFoundError):
            client.bots.audio(bot_id)
    else:
        assert {"audio", "chat", "manifest", "transcript_raw"} <= set(kinds), kinds
        assert audio_seconds(client.bots.audio(bot_id)["audio_url"]) == pytest.approx(scenario.media_s, abs=0.4)
    if scenario.automatic_leave.get("noone_joined_timeout"):
        waited = (stamp(timeline["Leaving"]) - stamp(timeline["InMeeting"])).total_seconds()
        assert waited >= scenario.automatic_leave["noone_joined_timeout"] - 0.05
    if scenario.automatic_leave.get("waiting_room_timeout"):
        waited = (stamp(timeline["NotAllowed"]) - stamp(timeline["InWaitingRoom"])).total_seconds()
        assert scenario.automatic_leave["waiting_room_timeout"] - 0.05 <= waited < 10
