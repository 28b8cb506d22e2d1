"""Live controls through the official SDK (sync and async): a paused recording's audio is shorter
than the meeting by the pause, the pause shows in the manifest and detail, a sent message is in the
chat log, a shown image is in the manifest's events; outside the meeting they are 409."""

from __future__ import annotations

import asyncio
import io
import json
import time
from typing import Any

import av
import httpx
import pytest
from meetstream import AsyncMeetStream, BadRequestError, ConflictError, NotFoundError

from conftest import new_account, sdk_for
from support.bots import wait_status
from support.servers import RunningServer

MEETING_S = 8.0  # room for the calls below on a loaded machine: the meeting ends on time
PAUSE_S = 1.5


def download(url: str) -> bytes:
    resp = httpx.get(url, timeout=30)
    assert resp.status_code == 200, resp.text
    return resp.content


def audio_seconds(data: bytes) -> float:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        assert stream.duration is not None and stream.time_base is not None
        return float(stream.duration * stream.time_base)


def test_pause_message_and_image_shape_the_recording(sqlite_server: RunningServer) -> None:
    api_key = new_account(sqlite_server).api_key
    client = sdk_for(sqlite_server, api_key)
    bot = client.bots.create(
        {
            "meeting_link": "https://meet.google.com/abc-defg-hij",
            "bot_name": "Scribe",
            "video_required": False,
            "recording_config": {"simulated": {"duration_s": MEETING_S}},
        }
    )
    bot_id = bot["bot_id"]
    wait_status(client, bot_id, {"Recording"}, timeout=30)

    assert client.bots.pause_recording(bot_id) == {"success": True, "bot_id": bot_id, "recording": "paused"}
    assert client.bots.detail(bot_id)["recording"] == "paused"
    time.sleep(PAUSE_S)
    assert client.bots.resume_recording(bot_id)["recording"] == "recording"
    assert client.bots.send_message(bot_id, "Notes are being taken.")["bot_id"] == bot_id
    assert client.bots.send_image(bot_id, "https://example.com/slide.png", 5)["bot_id"] == bot_id
    wait_status(client, bot_id, {"Done"}, timeout=60)

    manifest = json.loads(manifest_of(sqlite_server, api_key, bot_id))
    (pause,) = manifest["pauses"]
    assert pause["end"] - pause["start"] == pytest.approx(PAUSE_S, abs=0.4)
    (image,) = manifest["events"]
    assert {k: image[k] for k in ("type", "img_url", "display_duration")} == {
        "type": "image",
        "img_url": "https://example.com/slide.png",
        "display_duration": 5,
    }
    assert 0 <= image["at_s"] <= MEETING_S
    seconds = audio_seconds(download(client.bots.audio(bot_id)["audio_url"]))
    assert seconds == pytest.approx(MEETING_S - PAUSE_S, abs=0.6), (seconds, manifest["pauses"])
    chat = json.loads(download(client.bots.chats(bot_id)["download_url"]))
    mine = [m for m in chat if m["sender"] == "Scribe"]
    assert [m["message"] for m in mine] == ["Notes are being taken."]
    assert 0 <= mine[0]["timestamp_s"] <= seconds
    detail = client.bots.detail(bot_id)
    assert detail["pauses"] == manifest["pauses"] and detail["recording"] == "recording"

    # Outside the meeting: 409, naming the status; unknown bots 404; bad bodies 400.
    with pytest.raises(ConflictError) as refused:
        client.bots.pause_recording(bot_id)
    assert refused.value.body["code"] == "bot_not_in_meeting" and refused.value.body["status"] == "Done"
    with pytest.raises(NotFoundError):
        client.bots.send_message("00000000-0000-0000-0000-000000000000", "hi")
    with pytest.raises(BadRequestError):
        client.bots.send_message(bot_id, "   ")
    with pytest.raises(BadRequestError):
        client.bots.send_image(bot_id, "file:///etc/passwd")


def manifest_of(server: RunningServer, api_key: str, bot_id: str) -> bytes:
    """get_manifest (a meetstore extension, so not in the SDK), then the file it points at."""
    resp = httpx.get(f"{server.api}/bots/{bot_id}/get_manifest", headers={"Authorization": f"Token {api_key}"}, timeout=30)
    assert resp.status_code == 200, resp.text
    return download(resp.json()["manifest_url"])


def test_the_async_client_pauses_and_resumes(sqlite_server: RunningServer) -> None:
    api_key = new_account(sqlite_server).api_key
    sync = sdk_for(sqlite_server, api_key)
    bot_id = sync.bots.create(
        {"meeting_link": "https://zoom.us/j/123", "recording_config": {"simulated": {"duration_s": 3.0}}}
    )["bot_id"]
    wait_status(sync, bot_id, {"Recording"}, timeout=30)

    async def controls() -> tuple[Any, Any, Any]:
        client = AsyncMeetStream(api_key=api_key, base_url=sqlite_server.api, max_retries=0, timeout=60)
        paused = await client.bots.pause_recording(bot_id)
        resumed = await client.bots.resume_recording(bot_id)
        sent = await client.bots.send_message(bot_id, "from the async client")
        return paused, resumed, sent

    paused, resumed, sent = asyncio.run(controls())
    assert (paused["recording"], resumed["recording"], sent["recording"]) == ("paused", "recording", "recording")
    wait_status(sync, bot_id, {"Done"}, timeout=60)
    chat = json.loads(download(sync.bots.chats(bot_id)["download_url"]))
    assert [m["message"] for m in chat if m["sender"] == "Meeting Notetaker"] == ["from the async client"]


def test_detail_has_meetstreams_bot_details(sqlite_server: RunningServer) -> None:
    client = sdk_for(sqlite_server, new_account(sqlite_server).api_key)
    body = {
        "meeting_link": "https://meet.google.com/abc-defg-hij",
        "bot_message": "Hello, I take notes.",
        "custom_attributes": {"team": "blue"},
        "video_required": False,
        "recording_config": {"simulated": {"duration_s": 1.0}},
    }
    bot_id = client.bots.create(body)["bot_id"]
    wait_status(client, bot_id, {"Done"}, timeout=60)

    detail = client.bots.detail(bot_id)
    details = detail["bot_details"]
    assert details["BotID"] == bot_id and details["Status"] == "Done"
    assert details["Platform"] == "google_meet" and details["MeetingLink"] == body["meeting_link"]
    assert details["BotUsername"] == "Meeting Notetaker" and details["BotMessage"] == "Hello, I take notes."
    assert details["custom_attributes"] == {"team": "blue"}
    assert details["RequestPayload"]["meeting_link"] == body["meeting_link"]
    assert details["RequestPayload"]["custom_attributes"] == {"team": "blue"}
    timeline = details["StatusTimeline"]
    assert list(timeline) == ["Joining", "InMeeting", "Recording", "Leaving", "Stopped", "Done"]
    stamps = [stage["timestamp"] for stage in timeline.values()]
    assert stamps == sorted(stamps) and all(stage["status"] is True for stage in timeline.values())
    assert details["StartTime"] == timeline["Recording"]["timestamp"] and details["EndTime"] == timeline["Leaving"]["timestamp"]
    assert details["Duration"] == pytest.approx(1.0, abs=0.8)
    # meetstore's own fields stay beside it.
    assert detail["storage"]["artifacts"] and detail["bot_id"] == bot_id
    # The bot_message is posted in the chat when the bot joins.
    chat = json.loads(download(client.bots.chats(bot_id)["download_url"]))
    assert {"sender": "Meeting Notetaker", "message": "Hello, I take notes.", "timestamp_s": 0.0} in chat
