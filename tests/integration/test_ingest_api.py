"""The ingest API a real bot runtime speaks (a claim with the runtime token, then the bot's own
credential; httpx), on a server whose bots wait for
an external runtime (`MEETSTORE_BOT_RUNTIME=external`), so no simulator touches them."""

from __future__ import annotations

import hashlib
import json
import socket
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from meetstream import MeetStream

from meetstore.adapters.crypto.stream import ciphertext_size
from meetstore.container import runtime_token
from meetstore.runtime.media import MeetingScript, record_meeting

from conftest import new_account, sdk_for
from support.bots import bot_params, sha256_hex, spool_bytes, spool_dir
from support.servers import RunningServer


class Runtime:
    """A bot runtime's client of the ingest API: it claims each bot with the runtime token, then
    speaks for it with that bot's own credential."""

    def __init__(self, server: RunningServer) -> None:
        self.server = server
        self.token = runtime_token(server.container.settings)
        self.http = httpx.Client(base_url=server.url + "/internal/v1/bots", timeout=60)
        self.credentials: dict[str, str] = {}

    def claim(self, bot_id: str) -> httpx.Response:
        return self.http.post(f"/{bot_id}/claim", headers={"Authorization": f"Bearer {self.token}"})

    def credential(self, bot_id: str) -> str:
        if bot_id not in self.credentials:
            resp = self.claim(bot_id)
            # An unknown bot has no credential: the call itself then answers what it answers.
            self.credentials[bot_id] = resp.json()["runtime_credential"] if resp.status_code == 200 else "rt_none"
        return self.credentials[bot_id]

    def auth(self, bot_id: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.credential(bot_id)}"}

    def put(self, bot_id: str, name: str, content: bytes | Iterator[bytes]) -> httpx.Response:
        return self.http.put(f"/{bot_id}/files/{name}", content=content, headers=self.auth(bot_id))

    def status(self, bot_id: str, status: str) -> httpx.Response:
        return self.http.post(f"/{bot_id}/status", json={"status": status}, headers=self.auth(bot_id))

    def left(self, bot_id: str) -> httpx.Response:
        return self.http.post(f"/{bot_id}/left", headers=self.auth(bot_id))


@pytest.fixture
def ext(make_server: Callable[..., RunningServer]) -> RunningServer:
    return make_server("sqlite", bot_runtime="external", upload_worker=False)


def new_bot(server: RunningServer, **extra: object) -> tuple[MeetStream, str]:
    client = sdk_for(server, new_account(server).api_key)
    return client, client.bots.create(bot_params(1.0, **extra))["bot_id"]


def test_a_runtime_streams_files_in_and_leaves(ext: RunningServer) -> None:
    client, bot_id = new_bot(ext, callback_url="http://127.0.0.1:9/hook")
    rt = Runtime(ext)
    assert rt.status(bot_id, "InMeeting").json() == {"bot_id": bot_id, "status": "InMeeting"}
    assert rt.status(bot_id, "Recording").json()["status"] == "Recording"
    assert rt.status(bot_id, "Recording").json()["status"] == "Recording"  # same again: no change
    assert client.bots.status(bot_id)["status"] == "Recording"
    resp = rt.status(bot_id, "InMeeting")  # never backwards
    assert resp.status_code == 409 and resp.json()["code"] == "conflict"

    files = {
        "audio.mp3": b"ID3" + bytes(range(256)) * 40,
        "chat.json": json.dumps([{"sender": "Ada", "message": "hi"}]).encode(),
        "screenshots/00001.png": b"\x89PNG\r\n\x1a\n" + b"\x01" * 500,
        "screenshots/00002.png": b"\x89PNG\r\n\x1a\n" + b"\x02" * 600,
        "audio_streams/ada-lovelace_1.webm": b"\x1aE\xdf\xa3" + b"\x03" * 700,
        "transcript/raw.json": b'{"words": []}',
        "transcript/processed.json": b'[{"speaker": "Ada", "transcript": "Hi.", "start": 0.0, "end": 1.0}]',
        "participants.json": json.dumps([{"name": "Ada Lovelace", "id": "ada-lovelace_1"}]).encode(),
        "speaker_timeline.json": json.dumps([{"speaker": "Ada Lovelace", "start": 0.0, "end": 1.0}]).encode(),
    }
    for name, data in files.items():
        resp = rt.put(bot_id, name, data)
        assert resp.status_code == 201, resp.text
        assert resp.json() == {"bot_id": bot_id, "name": name, "size": len(data), "sha256": sha256_hex(data)}
    # A runtime may send a file again before it leaves: the new bytes replace the old.
    files["chat.json"] = b"[]"
    assert rt.put(bot_id, "chat.json", b"[]").status_code == 200

    first = rt.left(bot_id)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["bot_id"] == bot_id
    assert body["artifacts"] == 8  # 7 media/metadata files + the manifest
    assert body["storage"]["kind"] == "platform"
    # "left" is idempotent: a second call changes nothing and answers the same.
    assert rt.left(bot_id).json() == body
    detail = client.bots.detail(bot_id)
    assert detail["status"] == "Stopped"
    assert [w["event"] for w in detail["webhooks"]] == [
        "bot.joining",
        "bot.inmeeting",
        "bot.recording",
        "bot.stopped",
    ]
    assert len(detail["storage"]["artifacts"]) == 8
    assert {a["state"] for a in detail["storage"]["artifacts"]} == {"pending"}

    # The manifest describes exactly the spool files (size and SHA-256) and folds in the meeting data.
    spool = spool_dir(ext.container, bot_id)
    manifest_raw = spool_bytes(ext.container, bot_id, "manifest.json")
    manifest = json.loads(manifest_raw)
    assert b'"artifacts"' not in (spool / "manifest.json").read_bytes()  # sealed on disk
    listed = {e["name"]: e for e in manifest["artifacts"]}
    media = {n: d for n, d in files.items() if n not in ("participants.json", "speaker_timeline.json")}
    assert set(listed) == set(media)
    for name, data in media.items():
        assert spool_bytes(ext.container, bot_id, name) == data
        # No recording waits for upload in plaintext: not a 64-byte run of it is on disk.
        on_disk = (spool / name).read_bytes()
        assert len(data) < 64 or all(data[i : i + 64] not in on_disk for i in range(0, len(data) - 63, 997))
        assert listed[name]["size"] == len(data)
        assert listed[name]["sha256"] == sha256_hex(data)
    assert manifest["participants"] == [{"name": "Ada Lovelace", "id": "ada-lovelace_1"}]
    assert manifest["speaker_timeline"] == [{"speaker": "Ada Lovelace", "start": 0.0, "end": 1.0}]
    assert manifest["video_info"] is None
    assert manifest["bot_id"] == bot_id and manifest["transcript_id"] == detail["transcript_id"]
    mrow = next(a for a in detail["storage"]["artifacts"] if a["kind"] == "manifest")
    assert mrow["size"] == len(manifest_raw)

    # After "left" the files are final.
    resp = rt.put(bot_id, "chat.json", b"[1]")
    assert resp.status_code == 409 and resp.json()["code"] == "conflict"
    assert spool_bytes(ext.container, bot_id, "chat.json") == b"[]"
    resp = rt.status(bot_id, "Recording")
    assert resp.status_code == 409
    assert not list((spool / ".incoming").iterdir())


def test_a_real_video_gets_its_video_info(ext: RunningServer, tmp_path: Path) -> None:
    _, bot_id = new_bot(ext)
    rec = record_meeting(tmp_path, MeetingScript(duration_s=2.0))
    rt = Runtime(ext)
    assert rt.put(bot_id, "video.mp4", (tmp_path / "video.mp4").read_bytes()).status_code == 201
    assert rt.status(bot_id, "Stopped").json()["status"] == "Stopped"  # Stopped is "left"
    manifest = json.loads(spool_bytes(ext.container, bot_id, "manifest.json"))
    assert rec.video_info is not None
    info = manifest["video_info"]
    assert info["resolution"] == rec.video_info.resolution
    assert info["fps"] == rec.video_info.fps
    assert info["duration"] == pytest.approx(rec.video_info.duration, abs=0.2)


def test_a_50_mb_file_streams_through_with_bounded_memory(ext: RunningServer) -> None:
    _, bot_id = new_bot(ext)
    rt = Runtime(ext)
    size = 50 * 1024 * 1024
    block = bytes(range(256)) * 1024  # 256 KiB
    digest = hashlib.sha256()

    def body() -> Iterator[bytes]:
        for i in range(size // len(block)):
            chunk = i.to_bytes(4, "big") + block[4:]
            digest.update(chunk)
            yield chunk

    tracemalloc.start()
    try:
        started = time.monotonic()
        resp = rt.http.put(
            f"/{bot_id}/files/video.mp4", content=body(), headers={"Content-Length": str(size), **rt.auth(bot_id)}
        )
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert resp.status_code == 201, resp.text
    assert resp.json()["size"] == size
    assert resp.json()["sha256"] == digest.hexdigest()
    path = spool_dir(ext.container, bot_id) / "video.mp4"
    assert path.stat().st_size == ciphertext_size(size)
    # Client and server share this process: the peak covers both, far below the file's 50 MB.
    assert peak < 12 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB"
    assert elapsed < 60


def test_a_partial_upload_is_never_a_file(ext: RunningServer) -> None:
    _, bot_id = new_bot(ext)
    rt = Runtime(ext)
    token = rt.credential(bot_id)
    with socket.create_connection(("127.0.0.1", ext.port)) as sock:
        head = (
            f"PUT /internal/v1/bots/{bot_id}/files/audio.mp3 HTTP/1.1\r\n"
            f"Host: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
            "Content-Length: 1000000\r\n\r\n"
        )
        sock.sendall(head.encode() + b"x" * 300_000)
        time.sleep(0.3)
    spool = spool_dir(ext.container, bot_id)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any((spool / ".incoming").glob("*")):
        time.sleep(0.05)
    assert not (spool / "audio.mp3").exists()
    assert not list((spool / ".incoming").glob("*"))
    # The runtime leaves: nothing of the cut-off upload becomes an artifact.
    assert rt.left(bot_id).json()["artifacts"] == 1


BAD_NAMES = [
    "manifest.json",
    "notes.txt",
    "screenshots/00000.png",
    "screenshots/1.jpg",
    "audio_streams/Ada Lovelace_1.webm",
    "audio_streams/ada_0.webm",
    "transcript/summary.json",
    "..%2F..%2Fetc%2Fpasswd",
    "screenshots/%2E%2E/audio.mp3",
    ".incoming/x.part",
]


def test_names_that_are_not_artifacts_are_400(ext: RunningServer) -> None:
    _, bot_id = new_bot(ext)
    rt = Runtime(ext)
    for name in BAD_NAMES:
        resp = rt.put(bot_id, name, b"data")
        assert resp.status_code == 400, (name, resp.text)
        assert resp.json()["code"] == "invalid_request"
        assert resp.json()["errors"][0]["field"] == "name"
    spool = spool_dir(ext.container, bot_id)
    assert not spool.exists() or not [p for p in spool.rglob("*") if p.is_file()]


def test_runtime_token_is_required(ext: RunningServer) -> None:
    acct = new_account(ext)
    client = sdk_for(ext, acct.api_key)
    bot_id = client.bots.create(bot_params(1.0))["bot_id"]
    url = f"{ext.url}/internal/v1/bots/{bot_id}"
    token = runtime_token(ext.container.settings)
    cases = [
        ({}, 401, "not_authenticated"),
        ({"Authorization": f"Token {acct.api_key}"}, 401, "not_authenticated"),  # a customer key
        ({"Authorization": f"Bearer {acct.api_key}"}, 403, "invalid_runtime_token"),
        ({"Authorization": "Bearer wrong"}, 403, "invalid_runtime_token"),
        ({"Authorization": f"Bearer {token}x"}, 403, "invalid_runtime_token"),
        ({"Authorization": f"Bearer {token}"}, 403, "invalid_runtime_token"),  # the dispatcher's token
    ]
    for headers, status, code in cases:
        for method, path, kw in (
            ("PUT", "/files/audio.mp3", {"content": b"abc"}),
            ("POST", "/status", {"json": {"status": "InMeeting"}}),
            ("POST", "/left", {}),
        ):
            resp = httpx.request(method, url + path, headers=headers, **kw)  # type: ignore[arg-type]
            assert resp.status_code == status, (headers, path, resp.text)
            assert resp.json()["code"] == code
            assert token not in resp.text
    assert client.bots.status(bot_id)["status"] == "Joining"
    assert not spool_dir(ext.container, bot_id).exists()


def test_unknown_bots_and_bad_statuses(ext: RunningServer) -> None:
    rt = Runtime(ext)
    for bot_id in ("6f1c1e0a-0000-4000-8000-000000000000", "nope"):
        for resp in (rt.put(bot_id, "audio.mp3", b"x"), rt.status(bot_id, "InMeeting"), rt.left(bot_id)):
            assert resp.status_code == 404
            assert resp.json()["code"] == "bot_not_found"
    _, bot_id = new_bot(ext)
    for bad in ({"status": "Flying"}, {"status": "Done"}, {"status": "Joining"}, {"status": 3}, {}):
        resp = rt.http.post(f"/{bot_id}/status", json=bad, headers=rt.auth(bot_id))
        assert resp.status_code == 400, (bad, resp.text)
        assert resp.json()["code"] == "invalid_request"
    # Leaving is allowed from any live status; the runtime reads it back to notice remove_bot too.
    assert rt.status(bot_id, "Leaving").json()["status"] == "Leaving"
    assert rt.http.get(f"/{bot_id}/status", headers=rt.auth(bot_id)).json() == {"bot_id": bot_id, "status": "Leaving"}


def test_a_runtime_reports_the_waiting_room_a_denial_and_a_kick(ext: RunningServer) -> None:
    """The scenarios a real meeting produces, reported through the ingest API: a bot never let in
    ends Denied / NotAllowed with nothing to hand in; a kick is a Leaving that says bot.kicked."""
    client, denied = new_bot(ext, callback_url="http://127.0.0.1:9/hook")
    rt = Runtime(ext)
    assert rt.status(denied, "InWaitingRoom").json()["status"] == "InWaitingRoom"
    assert rt.status(denied, "Denied").json()["status"] == "Denied"
    assert rt.status(denied, "Denied").json()["status"] == "Denied"  # same again: no change
    for late in (rt.put(denied, "audio.mp3", b"ID3" + b"\x00" * 64), rt.status(denied, "InMeeting")):
        assert late.status_code == 409 and late.json()["status"] == "Denied"
    assert rt.left(denied).json()["artifacts"] == 0  # nothing was recorded: no manifest either
    detail = client.bots.detail(denied)
    assert detail["status"] == "Denied" and detail["storage"] == {"location": None, "artifacts": []}
    assert [w["event"] for w in detail["webhooks"]] == ["bot.joining", "bot.in_waiting_room", "bot.denied", "bot.stopped"]

    _, admitted = new_bot(ext)
    rt.status(admitted, "InMeeting")
    resp = rt.status(admitted, "NotAllowed")  # only a bot not yet let in can be refused
    assert resp.status_code == 409 and resp.json()["status"] == "InMeeting"

    client, kicked = new_bot(ext, callback_url="http://127.0.0.1:9/hook")
    rt.status(kicked, "Recording")
    resp = rt.http.post(f"/{kicked}/status", json={"status": "Leaving", "reason": "kicked"}, headers=rt.auth(kicked))
    assert resp.json() == {"bot_id": kicked, "status": "Leaving"}
    assert rt.put(kicked, "audio.mp3", b"ID3" + b"\x01" * 64).status_code == 201  # what it had is kept
    assert rt.left(kicked).json()["artifacts"] == 2
    events = [w["event"] for w in client.bots.detail(kicked)["webhooks"]]
    assert events == ["bot.joining", "bot.recording", "bot.kicked", "bot.stopped"]
