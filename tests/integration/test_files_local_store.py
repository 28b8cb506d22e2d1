"""GET/HEAD /files/<token>: the local platform store's signed, expiring download URLs with Range."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable

import httpx
import pytest

from meetstore.adapters.platform_store.local import LocalPlatformStore

from conftest import new_account, sdk_for
from support.fetch_rows import media_files, seed_bot
from support.servers import RunningServer


@pytest.fixture
def local(make_server: Callable[..., RunningServer]) -> RunningServer:
    return make_server("sqlite", workers=False)


def store_of(server: RunningServer) -> LocalPlatformStore:
    store = server.container.platform.store
    assert isinstance(store, LocalPlatformStore)
    return store


def video_url(server: RunningServer) -> tuple[str, bytes]:
    acct = new_account(server)
    files = media_files(streams=False)
    files["video.mp4"] = b"\x00\x00\x00\x18ftypmp42" + os.urandom(50_000)
    seeded = seed_bot(server.container, acct.account_id, pin="platform", files=files)
    url = sdk_for(server, acct.api_key).bots.video(seeded.bot_id)["video_url"]
    return url, files["video.mp4"]


def assert_invalid_token(resp: httpx.Response) -> None:
    assert resp.status_code == 403, resp.text
    body = resp.json()
    assert body["code"] == "invalid_token"
    assert isinstance(body["message"], str) and body["message"]


def test_whole_file_and_head(local: RunningServer) -> None:
    url, data = video_url(local)
    resp = httpx.get(url)
    assert resp.status_code == 200
    assert resp.content == data
    assert resp.headers["content-type"] == "video/mp4"
    assert resp.headers["content-length"] == str(len(data))
    assert resp.headers["accept-ranges"] == "bytes"
    assert "content-range" not in resp.headers

    head = httpx.head(url)
    assert head.status_code == 200 and head.content == b""
    assert head.headers["content-length"] == str(len(data))
    assert head.headers["content-type"] == "video/mp4"
    assert head.headers["accept-ranges"] == "bytes"

    head_range = httpx.head(url, headers={"Range": "bytes=10-19"})
    assert head_range.status_code == 206 and head_range.content == b""
    assert head_range.headers["content-range"] == f"bytes 10-19/{len(data)}"
    assert head_range.headers["content-length"] == "10"


SLICES = [
    ("bytes=0-0", 0, 0),
    ("bytes=0-99", 0, 99),
    ("bytes=1000-1999", 1000, 1999),
    ("bytes=50000-", 50000, None),
    ("bytes=-500", -500, None),
    ("bytes=49990-99999999", 49990, None),  # past the end: clipped
    ("bytes=0-", 0, None),
]


def test_single_ranges_return_exact_slices(local: RunningServer) -> None:
    url, data = video_url(local)
    size = len(data)
    for header, start, end in SLICES:
        first = start if start >= 0 else size + start
        last = size - 1 if end is None else end
        resp = httpx.get(url, headers={"Range": header})
        assert resp.status_code == 206, (header, resp.text)
        assert resp.content == data[first : last + 1], header
        assert resp.headers["content-range"] == f"bytes {first}-{last}/{size}"
        assert resp.headers["content-length"] == str(last - first + 1)
        assert resp.headers["content-type"] == "video/mp4"


def test_unsatisfiable_and_unsupported_ranges(local: RunningServer) -> None:
    url, data = video_url(local)
    for header in ("bytes=999999-", f"bytes={len(data)}-{len(data) + 8}", "bytes=-0"):
        resp = httpx.get(url, headers={"Range": header})
        assert resp.status_code == 416, header
        assert resp.headers["content-range"] == f"bytes */{len(data)}"
        assert resp.json()["code"] == "range_not_satisfiable"
    # Several ranges, another unit, a malformed spec: ignored, the whole file is served.
    for header in ("bytes=0-1,5-9", "pages=1-2", "bytes=9-2", "bytes=x-y"):
        resp = httpx.get(url, headers={"Range": header})
        assert resp.status_code == 200 and resp.content == data, header


def test_one_changed_byte_of_the_token_is_refused(local: RunningServer) -> None:
    url, data = video_url(local)
    base, token = url.rsplit("/", 1)
    assert httpx.get(url).content == data
    dot = token.index(".")
    positions = sorted({0, 1, dot // 2, dot - 1, dot, dot + 1, (dot + len(token)) // 2, len(token) - 1})
    for i in positions:
        replacement = "A" if token[i] != "A" else "B"
        tampered = token[:i] + replacement + token[i + 1 :]
        assert_invalid_token(httpx.get(f"{base}/{tampered}"))
    for junk in ("x", "a.b", token + "A", token[:-1], "%C3%A9" + token):
        assert_invalid_token(httpx.get(f"{base}/{junk}"))
    assert httpx.get(url).content == data  # the real one still works


def test_expired_token_is_refused(local: RunningServer) -> None:
    store = store_of(local)
    acct = new_account(local)
    seeded = seed_bot(local.container, acct.account_id, pin="platform")
    key = seeded.key("audio.mp3")
    past = store.sign(key, 60, now=time.time() - 120)
    assert_invalid_token(httpx.get(f"{local.url}/files/{past}"))
    fresh = store.sign(key, 60)
    assert httpx.get(f"{local.url}/files/{fresh}").content == seeded.data[key]
    # A token for a file that is not there (deleted, or a key never written) is 404.
    ghost = store.sign(f"accounts/{acct.account_id}/meetstream/nope.mp3", 60)
    resp = httpx.get(f"{local.url}/files/{ghost}")
    assert resp.status_code == 404 and resp.json()["code"] == "artifact_not_found"


def test_url_from_the_api_stops_working_after_its_lifetime(make_server: Callable[..., RunningServer]) -> None:
    server = make_server("sqlite", workers=False, url_ttl_audio=2)
    acct = new_account(server)
    seeded = seed_bot(server.container, acct.account_id, pin="platform")
    body = sdk_for(server, acct.api_key).bots.audio(seeded.bot_id)
    assert body["expires_in"] == 2
    assert httpx.get(body["audio_url"]).content == seeded.data[seeded.key("audio.mp3")]
    time.sleep(3.1)
    assert_invalid_token(httpx.get(body["audio_url"]))


def test_large_file_streams_with_ranges(local: RunningServer) -> None:
    """A file much larger than one chunk: whole download and a range across chunk borders."""
    acct = new_account(local)
    big = os.urandom(3 * 1024 * 1024 + 17)
    files = media_files(streams=False)
    files["video.mp4"] = big
    seeded = seed_bot(local.container, acct.account_id, pin="platform", files=files)
    url = sdk_for(local, acct.api_key).bots.video(seeded.bot_id)["video_url"]
    with httpx.stream("GET", url) as resp:
        assert resp.status_code == 200
        digest = hashlib.sha256()
        for chunk in resp.iter_bytes():
            digest.update(chunk)
    assert digest.hexdigest() == hashlib.sha256(big).hexdigest()
    a, b = 256 * 1024 - 5, 2 * 256 * 1024 + 5
    part = httpx.get(url, headers={"Range": f"bytes={a}-{b}"})
    assert part.status_code == 206 and part.content == big[a : b + 1]
