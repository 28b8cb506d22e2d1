"""The two quickstarts of the MeetStream SDK's README, run as written against meetstore: the key
and the base URL come from the environment (MEETSTREAM_API_KEY, MEETSTREAM_API_URL), as a user
who only points the SDK elsewhere would run them."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from meetstream import AsyncMeetStream, MeetStream

from conftest import new_account
from support.servers import RunningServer


@pytest.fixture
def sdk_env(make_server: Any, monkeypatch: pytest.MonkeyPatch) -> RunningServer:
    # The quickstarts name no meeting length: the simulated runtime's default, shortened here.
    server: RunningServer = make_server("sqlite", simulated_default_duration_s=1.0)
    monkeypatch.setenv("MEETSTREAM_API_KEY", new_account(server).api_key)
    monkeypatch.setenv("MEETSTREAM_API_URL", server.api)
    return server


def test_the_sync_quickstart(sdk_env: RunningServer) -> None:
    meetstream = MeetStream()  # reads MEETSTREAM_API_KEY

    bot = meetstream.bots.create(
        {
            "meeting_link": "https://meet.google.com/abc-defg-hij",
            "bot_name": "Notetaker",
            "recording_config": {"transcript": {"provider": {"deepgram": {"model": "nova-3", "language": "en"}}}},
        }
    )

    # Bounded wait - never spins forever, even on a streaming-only bot.
    transcript = meetstream.transcripts.wait_for(bot["transcript_id"], timeout=120, interval=0.5)

    assert transcript and {"speaker", "transcript", "start", "end"} <= set(transcript[0])
    listed = meetstream.transcripts.list_for_bot(bot["bot_id"])
    assert listed["provider"] == "deepgram" and listed["download_urls"]["processed_transcript"]


def test_the_async_quickstart(sdk_env: RunningServer) -> None:
    async def quickstart() -> tuple[dict[str, Any], dict[str, Any]]:
        async with AsyncMeetStream() as meetstream:
            bot = await meetstream.bots.create({"meeting_link": "https://zoom.us/j/123"})
            status = await meetstream.bots.status(bot["bot_id"])
        return bot, status

    bot, status = asyncio.run(quickstart())
    assert bot["status"] == "Joining" and status["bot_id"] == bot["bot_id"]
    assert status["status"] in {"Joining", "InMeeting", "Recording"}
