"""Audit findings on the HTTP edges (docs/security.md, "Audit of 2026-12"): a Range header of
thousands of digits (finding 9), a JSON integer of thousands of digits, and `/files` answers that
a browser must not sniff."""

from __future__ import annotations

import os
from collections.abc import Callable

import httpx
import pytest

from meetstore.api.routes.files import ByteRange, RangeNotSatisfiable, parse_range

from conftest import new_account, sdk_for
from support.fetch_rows import media_files, seed_bot
from support.servers import RunningServer

DIGITS = "9" * 5000


@pytest.fixture
def local(make_server: Callable[..., RunningServer]) -> RunningServer:
    return make_server("sqlite", workers=False)


def _video(server: RunningServer) -> tuple[str, bytes]:
    acct = new_account(server)
    files = media_files(streams=False)
    files["video.mp4"] = b"\x00\x00\x00\x18ftypmp42" + os.urandom(4096)
    seeded = seed_bot(server.container, acct.account_id, pin="platform", files=files)
    return sdk_for(server, acct.api_key).bots.video(seeded.bot_id)["video_url"], files["video.mp4"]


def test_finding_9_range_of_thousands_of_digits_is_never_a_500(local: RunningServer) -> None:
    url, data = _video(local)
    size = len(data)
    start_past_the_end = httpx.get(url, headers={"Range": f"bytes={DIGITS}-"})
    assert start_past_the_end.status_code == 416, start_past_the_end.text
    assert start_past_the_end.headers["content-range"] == f"bytes */{size}"
    assert start_past_the_end.json()["code"] == "range_not_satisfiable"

    to_the_end = httpx.get(url, headers={"Range": f"bytes=10-{DIGITS}"})
    assert to_the_end.status_code == 206
    assert to_the_end.content == data[10:]
    assert to_the_end.headers["content-range"] == f"bytes 10-{size - 1}/{size}"

    whole_suffix = httpx.get(url, headers={"Range": f"bytes=-{DIGITS}"})
    assert whole_suffix.status_code == 206 and whole_suffix.content == data

    leading_zeros = httpx.get(url, headers={"Range": f"bytes={'0' * 5000}5-{'0' * 5000}9"})
    assert leading_zeros.status_code == 206 and leading_zeros.content == data[5:10]


def test_finding_9_positions_compare_by_value_at_any_length() -> None:
    assert parse_range(f"bytes={DIGITS}-{'8' * 5000}", 100) is None  # last < first: ignored
    assert parse_range(f"bytes={'9' * 40}-1{'0' * 30}", 100) is None
    assert parse_range(f"bytes=3-{'9' * 40}", 100) == ByteRange(3, 99)
    with pytest.raises(RangeNotSatisfiable):
        parse_range(f"bytes={'9' * 40}-{'9' * 41}", 100)


def test_files_answers_carry_nosniff(local: RunningServer) -> None:
    url, _ = _video(local)
    for resp in (
        httpx.get(url),
        httpx.head(url),
        httpx.get(url, headers={"Range": "bytes=0-3"}),
        httpx.get(url, headers={"Range": "bytes=999999-"}),
    ):
        assert resp.headers["x-content-type-options"] == "nosniff", resp.status_code


def test_a_json_integer_of_thousands_of_digits_is_invalid_request(local: RunningServer) -> None:
    acct = new_account(local)
    body = '{"meeting_link": "https://meet.google.com/abc-defg-hij", "bot_name": "n", ' + (
        '"recording_config": {"simulated": {"duration_s": ' + "1" * 5000 + "}}}"
    )
    resp = httpx.post(
        f"{local.api}/bots/create_bot",
        content=body,
        headers={"Authorization": f"Token {acct.api_key}", "Content-Type": "application/json"},
    )
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["code"] == "invalid_request", body
    assert body["errors"] == [{"field": "body", "message": "the body is not valid JSON"}] or body["errors"]


def _post(server: RunningServer, api_key: str, path: str, body: dict[str, object]) -> httpx.Response:
    return httpx.post(f"{server.api}{path}", json=body, headers={"Authorization": f"Token {api_key}"}, timeout=30)


@pytest.mark.parametrize("provider", ["meetstream\n", "a" * 64 + "\n", "Deepgram"])
def test_finding_8_provider_names_match_whole(local: RunningServer, provider: str) -> None:
    acct = new_account(local)
    resp = _post(
        local,
        acct.api_key,
        "/bots/create_bot",
        {
            "meeting_link": "https://meet.google.com/abc-defg-hij",
            "bot_name": "n",
            "recording_config": {"transcript": {"provider": {provider: {}}}},
        },
    )
    assert resp.status_code == 400, resp.text
    assert resp.json()["code"] == "invalid_request"


def test_finding_8_role_arn_matches_whole(local: RunningServer) -> None:
    acct = new_account(local)
    resp = httpx.put(
        f"{local.api}/admin/configs",
        params={"config_type": "storage"},
        json={
            "provider": "aws",
            "bucket_name": "some-bucket",
            "region": "us-east-1",
            "role_arn": "arn:aws:iam::123456789012:role/writer\n",
        },
        headers={"Authorization": f"Token {acct.api_key}"},
        timeout=30,
    )
    assert resp.status_code == 400, resp.text
    body = resp.json()
    assert body["code"] == "invalid_request" and body["errors"][0]["field"] == "role_arn"
