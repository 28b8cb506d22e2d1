"""Pure rules of the bot side: the simulated meeting's plan, create_bot's body, ids, cursors, the spool writer."""

from __future__ import annotations

import hashlib
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from meetstore.adapters.crypto.stream import decrypt_bytes
from meetstore.adapters.spool.local import SpoolWriter, write_all
from meetstore.api.schemas.bots import CreateBotIn
from meetstore.errors import BotNotFound, InsufficientStorage, InvalidRequest
from meetstore.runtime.scenario import Admission, Ending, Plan, plan_of
from meetstore.services.bots import decode_page_cursor, encode_page_cursor, parse_bot_id


def _sim(**fields: Any) -> dict[str, Any]:
    return {"recording_config": {"simulated": fields}}


@pytest.mark.parametrize(
    "options,expected",
    [
        ({}, Plan(10.0)),
        (_sim(duration_s=2), Plan(2.0)),
        # MeetStream's meaning: everyone_left_timeout is the wait after the participants left.
        ({"automatic_leave": {"everyone_left_timeout": 3}}, Plan(10.0, everyone_left_s=3.0)),
        (
            {**_sim(duration_s=20), "automatic_leave": {"in_call_recording_timeout": 1.5}},
            Plan(20.0, recording_cap_s=1.5),
        ),
        ({"video_required": False, "audio_separate_streams": True}, Plan(10.0, video=False, separate_streams=True)),
        ({"audio_required": False}, Plan(10.0, audio=False)),
        (_sim(participants=0), Plan(10.0, participants=())),
        (_sim(participants=3), Plan(10.0, participants=("Alice Example", "Bob Example", "Chen Example"))),
        (
            {**_sim(waiting_room_s=4, admit=False), "automatic_leave": {"waiting_room_timeout": 2}},
            Plan(10.0, waiting_room_s=4.0, waiting_room_timeout_s=2.0, admit=False),
        ),
        (_sim(kick_at_s=1, fail_at_s=2), Plan(10.0, kick_at_s=1.0, fail_at_s=2.0)),
    ],
)
def test_plan_of_the_simulated_meeting(options: dict[str, Any], expected: Plan) -> None:
    assert plan_of(options, 10.0) == expected


@pytest.mark.parametrize(
    "plan,room,admission",
    [
        (Plan(5.0), False, (0.0, Admission.ADMITTED)),
        (Plan(5.0, waiting_room_s=3.0), True, (3.0, Admission.ADMITTED)),
        (Plan(5.0, waiting_room_s=3.0, waiting_room_timeout_s=4.0), True, (3.0, Admission.ADMITTED)),
        (Plan(5.0, waiting_room_s=3.0, waiting_room_timeout_s=1.0), True, (1.0, Admission.NOT_ALLOWED)),
        (Plan(5.0, admit=False), True, (0.0, Admission.DENIED)),
        (Plan(5.0, waiting_room_s=2.0, admit=False), True, (2.0, Admission.DENIED)),
        # The bot gives up before the host gets to deny it.
        (Plan(5.0, waiting_room_s=2.0, waiting_room_timeout_s=1.0, admit=False), True, (1.0, Admission.NOT_ALLOWED)),
    ],
)
def test_the_waiting_room(plan: Plan, room: bool, admission: tuple[float, Admission]) -> None:
    assert plan.waits_in_room is room
    assert plan.admission() == admission


@pytest.mark.parametrize(
    "plan,ending",
    [
        (Plan(5.0), (5.0, Ending.LEFT)),
        (Plan(5.0, everyone_left_s=2.0), (7.0, Ending.LEFT)),
        (Plan(5.0, everyone_left_s=2.0, recording_cap_s=6.0), (6.0, Ending.CAPPED)),
        (Plan(5.0, recording_cap_s=9.0), (5.0, Ending.LEFT)),
        (Plan(5.0, kick_at_s=2.0), (2.0, Ending.KICKED)),
        (Plan(5.0, kick_at_s=8.0), (5.0, Ending.LEFT)),
        (Plan(5.0, fail_at_s=1.0, kick_at_s=2.0), (1.0, Ending.FAILED)),
        (Plan(5.0, kick_at_s=5.0), (5.0, Ending.LEFT)),
    ],
)
def test_what_ends_the_recording(plan: Plan, ending: tuple[float, Ending]) -> None:
    assert plan.ending() == ending


def _body(**extra: Any) -> dict[str, Any]:
    return {"meeting_link": "https://zoom.us/j/123", "bot_name": "Rec", **extra}


def test_create_body_defaults_and_unknown_fields() -> None:
    data = CreateBotIn.model_validate(
        _body(zoom={"x": 1}, bot_image_url="https://example.com/a.png")
    ).to_input()
    assert data.transcript_provider == "meetstream"
    assert data.video_required is True and data.audio_separate_streams is False
    assert data.simulated_duration_s is None and data.everyone_left_timeout_s is None
    assert data.options == {
        "zoom": {"x": 1},
        "bot_image_url": "https://example.com/a.png",
        "video_required": True,
        "audio_separate_streams": False,
        "audio_required": True,
    }
    assert data.callback_url is None


def test_create_body_provider_duration_and_leave() -> None:
    data = CreateBotIn.model_validate(
        _body(
            recording_config={
                "transcript": {"provider": {"deepgram_streaming": {"model": "nova-3"}}},
                "simulated": {"duration_s": 2.5},
            },
            automatic_leave={"everyone_left_timeout": 4, "silence_detection": {"timeout": 9}},
            custom_attributes={"crm_id": "42"},
        )
    ).to_input()
    assert data.transcript_provider == "deepgram_streaming"
    assert data.simulated_duration_s == 2.5
    assert data.everyone_left_timeout_s == 4
    assert data.options["automatic_leave"]["silence_detection"] == {"timeout": 9}
    assert data.options["custom_attributes"] == {"crm_id": "42"}
    assert data.options["recording_config"]["transcript"]["provider"] == {
        "deepgram_streaming": {"model": "nova-3"}
    }


@pytest.mark.parametrize(
    "extra",
    [
        {"meeting_link": "javascript:alert(1)"},
        {"meeting_link": "https://user:pw@meet.example.com/x"},
        {"bot_name": "   "},
        {"bot_name": "a\nb"},
        {"bot_name": "x" * 201},
        {"callback_url": "file:///etc/passwd"},
        {"recording_config": {"transcript": {"provider": {}}}},
        {"recording_config": {"simulated": {"duration_s": 1e9}}},
        {"automatic_leave": {"everyone_left_timeout": True}},
        {"custom_attributes": "x"},
    ],
)
def test_create_body_refusals(extra: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        CreateBotIn.model_validate(_body(**extra))


def test_bot_ids_are_canonical_uuids() -> None:
    u = uuid.uuid4()
    assert parse_bot_id(str(u).upper()) == str(u)
    assert parse_bot_id(u.hex) == str(u)
    for bad in ("", "x", "1234", str(u) + "0", "../etc"):
        with pytest.raises(BotNotFound):
            parse_bot_id(bad)


def test_cursor_round_trip_and_garbage() -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    bot_id = str(uuid.uuid4())
    assert decode_page_cursor(encode_page_cursor(at, bot_id)) == (at, bot_id)
    for bad in ("", "!!!", "bm90IGpzb24", "WzEsMl0", "WyIyMDI2LTAxLTAyIiwieCJd"):
        with pytest.raises(InvalidRequest):
            decode_page_cursor(bad)


def test_a_full_disk_is_insufficient_storage() -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    fd = os.open("/dev/full", os.O_WRONLY)
    try:
        with pytest.raises(InsufficientStorage):
            write_all(fd, b"x" * 4096)
    finally:
        os.close(fd)


def test_spool_writer_is_complete_only_when_finished(tmp_path: Path) -> None:
    key = os.urandom(32)
    w = SpoolWriter("b", "audio.mp3", tmp_path, key)
    w.write(b"abc")
    w.write(memoryview(b"def"))
    assert not (tmp_path / "audio.mp3").exists()
    w.finish()
    assert w.size == 6 and w.sha256 == hashlib.sha256(b"abcdef").hexdigest()
    sealed = w.tmp.read_bytes()
    assert b"abcdef" not in sealed  # what waits for upload is ciphertext
    assert decrypt_bytes(key, "audio.mp3", sealed) == b"abcdef"

    dropped = SpoolWriter("b", "video.mp4", tmp_path, key)
    dropped.write(b"partial")
    dropped.abort()
    assert not dropped.tmp.exists()
    assert sorted(p.name for p in (tmp_path / ".incoming").iterdir()) == [w.tmp.name]
