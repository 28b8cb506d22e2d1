"""The public bot endpoints through the official SDK: create, status, detail, list, remove."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import av
import httpx
import pytest
from meetstream import BadRequestError, NotFoundError

from conftest import new_account, sdk_for
from support.bots import ORDER, bot_params, file_of, finished, uploads_implemented, wait_status
from support.servers import RunningServer

UUID_FIELDS = ("bot_id", "transcript_id")


def _is_uuid(value: str) -> bool:
    return str(uuid.UUID(value)) == value


def test_create_runs_the_meeting_to_the_end(server: RunningServer) -> None:
    acct = new_account(server)
    client = sdk_for(server, acct.api_key)
    created = client.bots.create(
        bot_params(
            1.0,
            callback_url="http://127.0.0.1:9/hook",
            custom_attributes={"team": "sales", "n": 3},
        )
    )
    assert set(created) == {"bot_id", "transcript_id", "meeting_url", "status"}
    assert created["status"] == "Joining"
    assert created["meeting_url"] == "https://meet.google.com/abc-defg-hij"
    assert all(_is_uuid(created[f]) for f in UUID_FIELDS)
    bot_id = created["bot_id"]

    _, seen = wait_status(client, bot_id, {"Stopped", "Done"})
    assert [ORDER.index(s) for s in seen] == sorted(ORDER.index(s) for s in seen), seen

    detail = client.bots.detail(bot_id)
    assert detail["bot_id"] == bot_id
    assert detail["transcript_id"] == created["transcript_id"]
    assert detail["meeting_url"] == created["meeting_url"]
    assert detail["bot_name"] == "Recorder"
    assert detail["custom_attributes"] == {"team": "sales", "n": 3}
    assert detail["created_at"].endswith("Z")
    # Each status was passed through once, each with its event, in order.
    events = [w["event"] for w in detail["webhooks"]]
    assert events[:5] == ["bot.joining", "bot.inmeeting", "bot.recording", "bot.leaving", "bot.stopped"]
    assert all(set(w) == {"event", "state", "attempts", "last_status"} for w in detail["webhooks"])
    kinds = sorted(a["kind"] for a in detail["storage"]["artifacts"])
    assert kinds == [
        "audio",
        "chat",
        "manifest",
        "screenshot",
        "transcript_processed",
        "transcript_raw",
        "video",
    ]
    for a in detail["storage"]["artifacts"]:
        assert set(a) == {
            "kind",
            "key",
            "size",
            "content_type",
            "state",
            "attempts",
            "s3_error",
            "operation",
            "message",
        }
        assert a["size"] > 0
    content_types = {a["kind"]: a["content_type"] for a in detail["storage"]["artifacts"]}
    assert content_types["audio"] == "audio/mpeg"
    assert content_types["video"] == "video/mp4"
    assert content_types["screenshot"] == "image/png"
    assert content_types["manifest"] == "application/json"

    if uploads_implemented(server.container):
        detail = finished(client, server.container, bot_id)
        assert {a["state"] for a in detail["storage"]["artifacts"]} == {"uploaded"}
        assert detail["done_at"] is not None
        assert [w["event"] for w in detail["webhooks"]][-1] == "bot.done"

    # The recorded media is real: audio and video open in PyAV with the meeting's length.
    with av.open(file_of(server.container, detail, "video")) as v:
        assert v.streams.video[0].codec_context.name == "h264"
        assert v.streams.audio[0].codec_context.name == "aac"
        assert v.duration is not None and 0.8 <= v.duration / 1e6 <= 1.5
    with av.open(file_of(server.container, detail, "audio")) as a:
        assert a.format.name == "mp3"
        assert a.duration is not None and 0.8 <= a.duration / 1e6 <= 1.5
    if not uploads_implemented(server.container):
        pytest.skip("the upload worker is not implemented yet: bots stop at Stopped, not Done")


def test_idempotency_key_replay_is_507_with_the_same_bot(sqlite_server: RunningServer) -> None:
    server = sqlite_server
    acct = new_account(server)
    client = sdk_for(server, acct.api_key)
    key = str(uuid.uuid4())
    first = client.bots.create(bot_params(1.0), idempotency_key=key)
    # The SDK treats 507 as success and hands back the original bot.
    again = client.bots.create(bot_params(5.0, bot_name="Other"), idempotency_key=key)
    assert again == first
    resp = httpx.post(
        server.api + "/bots/create_bot",
        json=bot_params(1.0),
        headers={"Authorization": f"Token {acct.api_key}", "Idempotency-Key": key},
    )
    assert resp.status_code == 507
    assert resp.json() == first
    # Only one bot exists.
    assert [b["bot_id"] for b in client.bots.list()["bots"]] == [first["bot_id"]]
    # The same key in another account is another bot.
    other = sdk_for(server, new_account(server, "other").api_key).bots.create(
        bot_params(1.0), idempotency_key=key
    )
    assert other["bot_id"] != first["bot_id"]
    # A fresh key makes a fresh bot.
    third = client.bots.create(bot_params(1.0), idempotency_key=str(uuid.uuid4()))
    assert third["bot_id"] != first["bot_id"]
    wait_status(client, first["bot_id"], {"Stopped", "Done"})


@pytest.mark.parametrize("method", ["status", "detail", "remove"])
def test_foreign_random_and_malformed_ids_are_the_same_404(sqlite_server: RunningServer, method: str) -> None:
    server = sqlite_server
    owner = sdk_for(server, new_account(server).api_key)
    stranger_acct = new_account(server, "stranger")
    stranger = sdk_for(server, stranger_acct.api_key)
    bot_id = owner.bots.create(bot_params(1.0))["bot_id"]

    bodies = []
    for method in ("status", "detail", "remove"):
        for target in (bot_id, str(uuid.uuid4()), "not-a-uuid", bot_id.upper().replace("-", "")):
            if target == bot_id.upper().replace("-", "") and method != "remove":
                # The owner's own bot by another spelling of its UUID is found; a stranger's is not.
                assert getattr(owner.bots, method)(target)["bot_id"] == bot_id
            with pytest.raises(NotFoundError) as err:
                getattr(stranger.bots, method)(target)
            bodies.append(err.value.body)
    # The stranger's attempts changed nothing.
    assert owner.bots.status(bot_id)["status"] != "Leaving"
    assert all(b == bodies[0] for b in bodies)
    assert bodies[0]["code"] == "bot_not_found"
    assert set(bodies[0]) == {"message", "code"}


def test_list_is_newest_first_and_paginates(make_server: Callable[..., RunningServer]) -> None:
    server = make_server("sqlite", bot_runtime="external")
    acct = new_account(server)
    client = sdk_for(server, acct.api_key)
    made = [client.bots.create(bot_params(1.0, bot_name=f"bot {i}"))["bot_id"] for i in range(5)]
    sdk_for(server, new_account(server, "other").api_key).bots.create(bot_params(1.0))

    everything = client.bots.list()
    assert [b["bot_id"] for b in everything["bots"]] == made[::-1]
    assert everything["next_cursor"] is None

    pages: list[list[str]] = []
    cursor = None
    while True:
        page = client.bots.list(params={"limit": 2, "cursor": cursor})
        pages.append([b["bot_id"] for b in page["bots"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == [made[4:2:-1], made[2:0:-1], made[0:1]]
    first = client.bots.list(params={"limit": 1})["bots"][0]
    assert set(first) >= {"bot_id", "transcript_id", "meeting_url", "bot_name", "status", "created_at"}
    assert first["status"] == "Joining"

    for bad in ({"limit": 0}, {"limit": 201}, {"limit": "x"}, {"cursor": "garbage!"}):
        with pytest.raises(BadRequestError) as err:
            client.bots.list(params=bad)
        assert err.value.body["code"] == "invalid_request"
        assert err.value.body["errors"][0]["field"] in ("limit", "cursor")


def test_remove_bot_leaves_early_and_keeps_the_media(sqlite_server: RunningServer) -> None:
    server = sqlite_server
    client = sdk_for(server, new_account(server).api_key)
    bot_id = client.bots.create(bot_params(120.0))["bot_id"]
    wait_status(client, bot_id, {"Recording"})
    time.sleep(0.5)
    started = time.monotonic()
    removed = client.bots.remove(bot_id)
    assert removed["bot_id"] == bot_id
    assert removed["status"] == "Leaving"
    assert removed["message"]
    wait_status(client, bot_id, {"Stopped", "Done"}, timeout=20)
    assert time.monotonic() - started < 15
    detail = finished(client, server.container, bot_id)
    # The recording covers the time the bot was in the meeting, not the planned two minutes.
    with av.open(file_of(server.container, detail, "audio")) as a:
        assert a.duration is not None and a.duration / 1e6 < 10
    kinds = {a["kind"] for a in detail["storage"]["artifacts"]}
    assert {"audio", "video", "manifest"} <= kinds
    again = client.bots.remove(bot_id)
    assert again["status"] in ("Stopped", "Done")
    assert "already left" in again["message"]


def test_remove_before_recording_hands_in_no_media(make_server: Callable[..., RunningServer]) -> None:
    server = make_server("sqlite", simulated_step_delay_s=2.0)
    client = sdk_for(server, new_account(server).api_key)
    bot_id = client.bots.create(bot_params(30.0))["bot_id"]
    assert client.bots.remove(bot_id)["status"] == "Leaving"
    detail = finished(client, server.container, bot_id, timeout=20)
    assert [a["kind"] for a in detail["storage"]["artifacts"]] == ["manifest"]
    events = [w["event"] for w in detail["webhooks"]]
    assert "bot.recording" not in events


def test_video_not_required_and_separate_streams(sqlite_server: RunningServer) -> None:
    server = sqlite_server
    acct = new_account(server)
    client = sdk_for(server, acct.api_key)
    bot_id = client.bots.create(bot_params(1.0, video_required=False, audio_separate_streams=True))["bot_id"]
    detail = finished(client, server.container, bot_id)
    arts = detail["storage"]["artifacts"]
    kinds = {a["kind"] for a in arts}
    assert "video" not in kinds and "screenshot" not in kinds
    p = f"accounts/{acct.account_id}/meetstream"
    streams = sorted(a["key"] for a in arts if a["kind"] == "audio_stream")
    assert streams == [
        f"{p}/{bot_id}_audio_streams/alice-example_1.webm",
        f"{p}/{bot_id}_audio_streams/bob-example_2.webm",
    ]
    assert {a["content_type"] for a in arts if a["kind"] == "audio_stream"} == {"audio/webm"}
    manifest = json.loads(file_of(server.container, detail, "manifest").read())
    assert manifest["video_info"] is None
    assert [p["name"] for p in manifest["participants"]] == ["Alice Example", "Bob Example"]


def test_audio_not_required_records_no_audio_file(sqlite_server: RunningServer) -> None:
    server = sqlite_server
    client = sdk_for(server, new_account(server).api_key)
    bot_id = client.bots.create(bot_params(1.0, audio_required=False, audio_separate_streams=True))["bot_id"]
    detail = finished(client, server.container, bot_id)
    kinds = {a["kind"] for a in detail["storage"]["artifacts"]}
    assert "audio" not in kinds and "audio_stream" not in kinds
    assert {"video", "chat", "transcript_raw", "manifest"} <= kinds
    with pytest.raises(NotFoundError) as missing:
        client.bots.audio(bot_id)
    assert missing.value.body["code"] == "artifact_not_found"
    assert client.bots.video(bot_id)["video_url"]
    assert detail["options"]["audio_required"] is False


def test_in_call_recording_timeout_caps_the_recording(sqlite_server: RunningServer) -> None:
    server = sqlite_server
    client = sdk_for(server, new_account(server).api_key)
    started = time.monotonic()
    bot_id = client.bots.create(bot_params(120.0, automatic_leave={"in_call_recording_timeout": 1}))["bot_id"]
    detail = finished(client, server.container, bot_id, timeout=20)
    assert time.monotonic() - started < 15
    manifest = json.loads(file_of(server.container, detail, "manifest").read())
    assert manifest["video_info"]["duration"] == pytest.approx(1.0, abs=0.2)


def test_everyone_left_timeout_is_the_wait_after_the_participants_left(sqlite_server: RunningServer) -> None:
    """MeetStream's meaning: the meeting lasts duration_s, then the bot stays this long alone."""
    server = sqlite_server
    client = sdk_for(server, new_account(server).api_key)
    bot_id = client.bots.create(bot_params(1.5, automatic_leave={"everyone_left_timeout": 1}))["bot_id"]
    detail = finished(client, server.container, bot_id, timeout=20)
    manifest = json.loads(file_of(server.container, detail, "manifest").read())
    assert manifest["video_info"]["duration"] == pytest.approx(2.5, abs=0.2)
    assert [p["left_at_s"] for p in manifest["participants"]] == [pytest.approx(1.5, abs=0.1)] * 2
    assert max(turn["end"] for turn in manifest["speaker_timeline"]) <= 1.5


def test_unknown_fields_are_kept_and_provider_names_the_transcript_folder(
    make_server: Callable[..., RunningServer],
) -> None:
    server = make_server("sqlite", bot_runtime="external")
    client = sdk_for(server, new_account(server).api_key)
    params = bot_params(
        1.0,
        recording_config={"transcript": {"provider": {"deepgram": {"model": "nova-3"}}}, "retention": 7},
        live_audio_required={"websocket_url": "wss://example.com/audio"},
        zoom={"join_as": "guest"},
    )
    bot_id = client.bots.create(params)["bot_id"]
    detail = client.bots.detail(bot_id)
    assert detail["transcript_provider"] == "deepgram"
    assert detail["options"]["live_audio_required"] == {"websocket_url": "wss://example.com/audio"}
    assert detail["options"]["zoom"] == {"join_as": "guest"}
    # A bare number of hours is normalised to the retention object (API.md "Data lifecycle").
    assert detail["options"]["recording_config"]["retention"] == {"type": "timed", "hours": 7.0}
    assert detail["video_required"] is True and detail["audio_separate_streams"] is False
    assert detail["storage"] == {"location": None, "artifacts": []}


BAD: list[tuple[dict[str, Any], str]] = [
    ({"meeting_link": None}, "meeting_link"),
    ({"meeting_link": "ftp://meet.example.com/x"}, "meeting_link"),
    ({"meeting_link": "not a url"}, "meeting_link"),
    ({"meeting_link": 42}, "meeting_link"),
    ({"bot_name": ""}, "bot_name"),
    ({"bot_name": 7}, "bot_name"),
    ({"callback_url": "mailto:x@example.com"}, "callback_url"),
    ({"callback_url": 5}, "callback_url"),
    ({"video_required": "yes"}, "video_required"),
    ({"audio_separate_streams": 1}, "audio_separate_streams"),
    ({"automatic_leave": {"everyone_left_timeout": "10"}}, "automatic_leave.everyone_left_timeout"),
    ({"automatic_leave": {"everyone_left_timeout": -1}}, "automatic_leave.everyone_left_timeout"),
    ({"automatic_leave": 3}, "automatic_leave"),
    (
        {"recording_config": {"transcript": {"provider": {"a": {}, "b": {}}}}},
        "recording_config.transcript.provider",
    ),
    (
        {"recording_config": {"transcript": {"provider": {"Bad/Name": {}}}}},
        "recording_config.transcript.provider",
    ),
    ({"recording_config": {"transcript": {"provider": "deepgram"}}}, "recording_config.transcript.provider"),
    ({"recording_config": {"simulated": {"duration_s": 0}}}, "recording_config.simulated.duration_s"),
    ({"recording_config": {"simulated": {"duration_s": True}}}, "recording_config.simulated.duration_s"),
    ({"recording_config": {"simulated": {"speed": 2}}}, "recording_config.simulated.speed"),
    ({"custom_attributes": [1, 2]}, "custom_attributes"),
]


def test_bad_create_body_is_400(sqlite_server: RunningServer) -> None:
    client = sdk_for(sqlite_server, new_account(sqlite_server).api_key)
    for change, field in BAD:
        body = {k: v for k, v in {**bot_params(1.0), **change}.items() if v is not None}
        with pytest.raises(BadRequestError) as err:
            client.bots.create(body)
        b = err.value.body
        assert b["code"] == "invalid_request", change
        assert field in [e["field"] for e in b["errors"]], (change, b)
    assert client.bots.list()["bots"] == []


def test_bad_json_and_bad_idempotency_key_are_400(sqlite_server: RunningServer) -> None:
    acct = new_account(sqlite_server)
    headers = {"Authorization": f"Token {acct.api_key}", "Content-Type": "application/json"}
    url = sqlite_server.api + "/bots/create_bot"
    for content in (b"{not json", b"[1, 2]", b'"x"'):
        resp = httpx.post(url, content=content, headers=headers)
        assert resp.status_code == 400, resp.text
        assert resp.json()["code"] == "invalid_request"
    resp = httpx.post(url, json=bot_params(1.0), headers={**headers, "Idempotency-Key": "x" * 300})
    assert resp.status_code == 400
    assert resp.json()["errors"][0]["field"] == "Idempotency-Key"
    assert httpx.post(url, json=bot_params(1.0)).status_code == 401


def test_private_callback_url_is_refused(make_server: Callable[..., RunningServer]) -> None:
    server = make_server("sqlite", allow_private_endpoints=False)
    client = sdk_for(server, new_account(server).api_key)
    for url in ("http://127.0.0.1:8080/hook", "http://169.254.169.254/latest", "http://10.0.0.5/x"):
        with pytest.raises(BadRequestError) as err:
            client.bots.create(bot_params(1.0, callback_url=url))
        assert err.value.body["code"] == "endpoint_not_allowed"
    assert client.bots.list()["bots"] == []


def test_bot_name_is_optional_as_on_meetstream(sqlite_server: RunningServer) -> None:
    """The SDK's own quickstart sends only the meeting link."""
    client = sdk_for(sqlite_server, new_account(sqlite_server).api_key)
    for body in ({"meeting_link": "https://zoom.us/j/123"}, {"meeting_link": "https://zoom.us/j/123", "bot_name": None}):
        created = client.bots.create(body)
        assert created["status"] == "Joining"
        assert client.bots.detail(created["bot_id"])["bot_name"] == "Meeting Notetaker"
