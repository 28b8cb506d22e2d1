"""MeetStream's shapes: webhook bodies as the SDK reads them (both spellings of the event's name,
status_code 500 exactly for failures) and get_participants' items."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from meetstream import describe_stop, is_terminal

from meetstore.services.events import payload

from memory import Bot

NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("event", "status"),
    [("bot.failed", 500), ("bot.denied", 500), ("bot.notallowed", 500), ("bot.stopped", 200), ("bot.joining", 200)],
)
def test_failure_events_carry_500_and_both_names(event: str, status: int) -> None:
    body = payload(Bot("b-1", "acct", status="Stopped"), event, message="m", now=NOW)
    assert body["event"] == body["bot_event"] == event
    assert body["status_code"] == status
    assert is_terminal(body) is (event == "bot.stopped")


def test_the_sdk_explains_a_stop_from_the_body() -> None:
    body = payload(Bot("b-1", "acct", status="Stopped"), "bot.stopped", message="left", now=NOW)
    assert describe_stop(body) == "The bot left normally."


def test_participants_in_meetstreams_shape_name_each_persons_streams() -> None:
    from meetstore.services.fetch_answers import meetstream_participants

    manifest = {
        "participants": [
            {"name": "Alice Example", "id": "alice-example_1", "joined_at_s": 0.0, "left_at_s": 9.0},
            {"name": "Bob Example", "id": "bob-example_1", "joined_at_s": 1.0},
        ],
        "artifacts": [
            {"kind": "audio_stream", "name": "audio_streams/alice-example_2.webm", "participant": "alice-example"},
            {"kind": "audio_stream", "name": "audio_streams/alice-example_1.webm", "participant": "alice-example"},
            {"kind": "audio", "name": "audio.mp3"},
        ],
    }
    assert meetstream_participants(manifest) == [
        {
            "deviceId": "alice-example_1",
            "fullName": "Alice Example",
            "profilePicture": None,
            "status": "left",
            "streamIds": ["alice-example_1", "alice-example_2"],
        },
        {"deviceId": "bob-example_1", "fullName": "Bob Example", "profilePicture": None, "status": "joined", "streamIds": []},
    ]
