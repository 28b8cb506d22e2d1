"""Two-account fuzz: account B learns nothing about account A's bots, and cannot touch them.

Account A records real bots with the simulated runtime (1 s meetings): one on the platform store,
one on a read_write customer bucket and one on a write_only bucket that are no longer configured,
one whose uploads were denied (failed for good) on the bucket configured now, and one still in its
meeting. Then, for every bot
id and transcript id of A, in every spelling a UUID parser accepts, every endpoint that takes an
id is called with B's key: each answer is 404 with a body byte-identical to the one for a random
UUID (and for a malformed id). Afterwards A's bots are exactly as they were: B's remove_bot did not
make the live bot leave, B's retry_uploads did not requeue A's failed uploads.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import uuid
from collections.abc import Callable
from typing import Any

import httpx
from security_support import api_headers, storage_body

from conftest import new_account, sdk_for
from support.bots import bot_params, wait_status
from support.moto_s3 import MotoS3, put_only, read_write
from support.servers import RunningServer

ID_ENDPOINTS = [
    ("GET", "/bots/{id}/status"),
    ("GET", "/bots/{id}/detail"),
    ("GET", "/bots/{id}/remove_bot"),
    ("POST", "/bots/{id}/retry_uploads"),
    ("GET", "/bots/{id}/get_audio"),
    ("GET", "/bots/{id}/get_video"),
    ("GET", "/bots/{id}/get_audio_streams"),
    ("GET", "/bots/{id}/get_screenshots"),
    ("GET", "/bots/{id}/get_screenshots?limit=1"),
    ("GET", "/bots/{id}/get_chats"),
    ("GET", "/bots/{id}/transcriptions"),
    ("GET", "/bots/{id}/get_manifest"),
    ("GET", "/bots/{id}/get_participants"),
    ("GET", "/bots/{id}/get_speaker_timeline"),
]
TRANSCRIPT_ENDPOINTS = [
    ("GET", "/transcript/{id}/get_transcript"),
    ("GET", "/transcript/{id}/get_transcript?raw=true"),
]
MALFORMED = [
    "not-a-uuid",
    "0",
    "%00",
    "a" * 300,
    "%E2%98%83",
    "%20" + str(uuid.uuid4()),
    str(uuid.uuid4())[:-1],
]


def spellings(value: str) -> list[str]:
    """Every way of writing this UUID that Python's uuid.UUID accepts (the id parser normalises)."""
    u = uuid.UUID(value)
    return [str(u), str(u).upper(), u.hex, u.hex.upper(), "{" + str(u) + "}", "urn:uuid:" + str(u)]


_HTTP = httpx.Client(timeout=30)


def call(server: RunningServer, key: str, method: str, path: str) -> httpx.Response:
    return _HTTP.request(method, server.api + path, headers=api_headers(key))


def wait_left(client: Any, bot_id: str) -> None:
    wait_status(client, bot_id, {"Stopped", "Done"}, timeout=60)


def denied_puts(bucket: str) -> list[dict[str, Any]]:
    """Passes read_write validation (HeadBucket) but every upload is AccessDenied."""
    return [
        {
            "Effect": "Allow",
            "Action": ["s3:ListBucket", "s3:HeadBucket"],
            "Resource": [f"arn:aws:s3:::{bucket}"],
        }
    ]


def record_bots_of_a(server: RunningServer, moto: MotoS3, api_key: str) -> dict[str, dict[str, str]]:
    """A's bots by role → {bot_id, transcript_id}; all but 'live' are Done when this returns."""
    a = sdk_for(server, api_key)
    made: dict[str, dict[str, str]] = {}

    def create(role: str, duration: float = 1.0) -> str:
        created = a.bots.create(bot_params(duration, audio_separate_streams=True))
        made[role] = {"bot_id": created["bot_id"], "transcript_id": created["transcript_id"]}
        return str(created["bot_id"])

    wait_left(a, create("platform"))
    b1 = moto.make_bucket()
    a.storage.set(storage_body(moto, b1, moto.make_user(read_write(b1, "meetstream"))))
    wait_left(a, create("custom_replaced"))
    b2 = moto.make_bucket()
    a.storage.set(
        storage_body(moto, b2, moto.make_user(put_only(b2, "meetstream")), access_mode="write_only")
    )
    wait_left(a, create("write_only"))
    b3 = moto.make_bucket()
    a.storage.set(storage_body(moto, b3, moto.make_user(denied_puts(b3))))
    wait_left(a, create("upload_failed"))
    create("live", duration=60.0)
    for role in ("platform", "custom_replaced", "upload_failed", "write_only"):
        wait_status(a, made[role]["bot_id"], {"Done"}, timeout=60)
    wait_status(a, made["live"]["bot_id"], {"InMeeting", "Recording"}, timeout=30)
    return made


def snapshot(server: RunningServer, api_key: str, bot_id: str) -> dict[str, Any]:
    resp = call(server, api_key, "GET", f"/bots/{bot_id}/detail")
    assert resp.status_code == 200
    doc: dict[str, Any] = resp.json()
    return doc


def test_account_b_sees_and_changes_nothing_of_account_a(server: RunningServer, moto: MotoS3) -> None:
    a_acct = new_account(server, "tenant-a")
    b_acct = new_account(server, "tenant-b")
    bots = record_bots_of_a(server, moto, a_acct.api_key)
    a_key, b_key = a_acct.api_key, b_acct.api_key

    # What A itself sees, so the fuzz provably hits real objects in varied states.
    a_view = {
        role: call(server, a_key, "GET", f"/bots/{ids['bot_id']}/get_audio").status_code
        for role, ids in bots.items()
    }
    assert a_view == {
        "platform": 200,
        "custom_replaced": 403,
        "upload_failed": 404,
        "write_only": 403,
        "live": 202,
    }, a_view
    failed = snapshot(server, a_key, bots["upload_failed"]["bot_id"])
    assert {art["state"] for art in failed["storage"]["artifacts"]} == {"failed"}
    before = {role: snapshot(server, a_key, ids["bot_id"]) for role, ids in bots.items() if role != "live"}

    # B's answer for an id that exists nowhere: the reference every other answer must equal.
    def reference(method: str, template: str) -> bytes:
        answers = {
            call(server, b_key, method, template.format(id=str(uuid.uuid4()))).content for _ in range(2)
        }
        assert len(answers) == 1, answers  # the body does not depend on the id
        return answers.pop()

    requests = 0
    mismatches: list[tuple[str, str, int, bytes]] = []
    for endpoints, id_field in ((ID_ENDPOINTS, "bot_id"), (TRANSCRIPT_ENDPOINTS, "transcript_id")):
        for method, template in endpoints:
            ref = reference(method, template)
            assert json.loads(ref)["code"] == "bot_not_found"
            for raw in MALFORMED:
                resp = call(server, b_key, method, template.format(id=raw))
                requests += 1
                if resp.status_code != 404 or resp.content != ref:
                    mismatches.append((template, raw, resp.status_code, resp.content))
            for ids in bots.values():
                # A's own ids, and the other kind of id of A in the same place.
                for target in (ids[id_field], ids["transcript_id" if id_field == "bot_id" else "bot_id"]):
                    for spelled in spellings(target):
                        resp = call(server, b_key, method, template.format(id=spelled))
                        requests += 1
                        if resp.status_code != 404 or resp.content != ref:
                            mismatches.append((template, spelled, resp.status_code, resp.content))
    assert not mismatches, mismatches[:5]
    assert requests >= 800, requests

    # A's bots are untouched: the live one is still in its meeting (B's remove_bot did nothing),
    # the failed uploads were not requeued (B's retry_uploads did nothing), nothing else moved.
    live = call(server, a_key, "GET", f"/bots/{bots['live']['bot_id']}/status").json()["status"]
    assert live in ("InMeeting", "Recording"), live
    after = {role: snapshot(server, a_key, bots[role]["bot_id"]) for role in before}
    assert after == before

    # B's list never shows A's bots, however it pages.
    a_ids = {ids["bot_id"] for ids in bots.values()}
    b_client = sdk_for(server, b_key)
    b_own = b_client.bots.create(bot_params(1.0))["bot_id"]
    listed = httpx.get(server.api + "/bots", params={"limit": 1}, headers=api_headers(b_key)).json()
    assert [b["bot_id"] for b in listed["bots"]] == [b_own] and listed["next_cursor"] is None
    for a_id in a_ids:  # a cursor forged from A's bot pages B's bots only
        forged = base64.urlsafe_b64encode(
            json.dumps(["2999-01-01T00:00:00+00:00", a_id], separators=(",", ":")).encode()
        ).decode()
        page = httpx.get(
            server.api + "/bots", params={"cursor": forged.rstrip("=")}, headers=api_headers(b_key)
        ).json()
        assert {b["bot_id"] for b in page["bots"]} <= {b_own}

    # The live bot can still be stopped by its owner.
    assert call(server, a_key, "GET", f"/bots/{bots['live']['bot_id']}/remove_bot").json()["status"] == (
        "Leaving"
    )
    wait_status(sdk_for(server, a_key), bots["live"]["bot_id"], {"Stopped", "Done"}, timeout=60)
    kind = "postgres" if server.container.db.is_postgres else "sqlite"
    print(f"\ntwo-account fuzz ({kind}): {requests} requests with B's key, all 404 and == a random id's")


def _b64d(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64e(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def test_download_tokens_are_unguessable_and_tamper_proof(
    make_server: Callable[..., RunningServer],
) -> None:
    """/files tokens are bearer links (not tied to an account) and only the signing key makes one."""
    from support.fetch_rows import seed_bot

    server = make_server("sqlite", workers=False)
    a = new_account(server, "tenant-a")
    b = new_account(server, "tenant-b")
    a_bot = seed_bot(server.container, a.account_id, pin="platform")
    b_bot = seed_bot(server.container, b.account_id, pin="platform")
    url = call(server, a.api_key, "GET", f"/bots/{a_bot.bot_id}/get_audio").json()["audio_url"]
    token = url.rsplit("/files/", 1)[1]
    body, _, mac = token.partition(".")
    assert len(_b64d(mac)) == 32  # HMAC-SHA256: 256 bits nobody can guess
    assert json.loads(_b64d(body))["k"] == a_bot.key("audio.mp3")

    ok = httpx.get(url, timeout=10)  # no API key: the token is the credential, for whoever holds it
    assert ok.status_code == 200 and ok.content == a_bot.data[a_bot.key("audio.mp3")]

    def status(tok: str) -> tuple[int, str]:
        resp = httpx.get(f"{server.url}/files/{tok}", timeout=10)
        return resp.status_code, resp.json().get("code", "") if resp.status_code != 200 else ""

    forged_payloads = [
        {"k": b_bot.key("audio.mp3"), "e": json.loads(_b64d(body))["e"]},  # B's object, A's MAC
        {"k": a_bot.key("video.mp4"), "e": json.loads(_b64d(body))["e"]},  # another object of A
        {"k": a_bot.key("audio.mp3"), "e": json.loads(_b64d(body))["e"] + 10**6},  # longer life
    ]
    tampered = [f"{_b64e(json.dumps(p, separators=(',', ':')).encode())}.{mac}" for p in forged_payloads]
    flipped = mac[:-2] + ("A" if mac[-2] != "A" else "B") + mac[-1]
    tampered += [f"{body}.{flipped}", f"{body}.", body, f"{body}.{mac}x", f".{mac}"]
    wrong_key = os.urandom(32)
    for p in forged_payloads:  # signed, but with a key that is not the server's
        forged_body = _b64e(json.dumps(p, separators=(",", ":")).encode())
        forged_mac = _b64e(hmac.new(wrong_key, forged_body.encode(), hashlib.sha256).digest())
        tampered.append(f"{forged_body}.{forged_mac}")
    for tok in tampered:
        assert status(tok) == (403, "invalid_token"), tok
    assert status(token) == (200, "")
