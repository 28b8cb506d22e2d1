"""A customer-bucket get_audio answered from memory in a second API process (`meetstore serve`, its
own caches) is never served past what the account changed: a deleted configuration, replaced
credentials or an erasure are refused there within a second, and a pinned expiry at its instant."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from conftest import new_account, sdk_for
from support.bots import wait_status
from support.moto_s3 import MotoS3, read_write
from support.pipeline import storage_body
from support.processes import worker_env
from support.servers import RunningServer, free_port

CHANGE_LIMIT_S = 1.0


class OtherProcess:
    def __init__(self, base: str, api_key: str) -> None:
        self.http = httpx.Client(base_url=base, headers={"Authorization": f"Token {api_key}"}, timeout=30)

    def audio(self, bot_id: str) -> httpx.Response:
        return self.http.get(f"/api/v1/bots/{bot_id}/get_audio")


@pytest.fixture
def second_api(tmp_path: Path) -> Iterator[Any]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(server: RunningServer) -> str:
        port = free_port()
        env = worker_env(
            server.container,
            MEETSTORE_PORT=str(port),
            MEETSTORE_RATE_LIMIT_PER_MINUTE="1000000",  # the tests poll every 20 ms
            MEETSTORE_RATE_LIMIT_BURST="1000000",
        )
        log = (tmp_path / f"serve-{port}.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "meetstore.cli", "serve", "--workers", "1", "--no-upload-worker"],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        procs.append(proc)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    return base
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError("the second API process did not start")

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=30)


def refused_within(other: OtherProcess, bot_id: str, since: float) -> tuple[float, httpx.Response]:
    while True:
        resp = other.audio(bot_id)
        elapsed = time.monotonic() - since
        if resp.status_code != 200:
            return elapsed, resp
        assert elapsed < CHANGE_LIMIT_S, f"still served {elapsed:.2f} s after the change"
        time.sleep(0.02)


def test_what_the_account_changes_reaches_the_other_process_within_a_second(
    make_server: Any, second_api: Any, moto: MotoS3
) -> None:
    server = make_server("postgres")
    acct = new_account(server)
    sdk = sdk_for(server, acct.api_key)
    bucket = moto.make_bucket()
    first, second = moto.make_user(read_write(bucket, "meetstream")), moto.make_user(read_write(bucket, "meetstream"))
    sdk.storage.set(storage_body(moto.endpoint, bucket, first))
    bots = [sdk.bots.create({"meeting_link": "https://zoom.us/j/1", "recording_config": {"simulated": {"duration_s": 1}}})["bot_id"] for _ in range(2)]
    for bot_id in bots:
        wait_status(sdk, bot_id, {"Done"}, timeout=60)
    other = OtherProcess(second_api(server), acct.api_key)
    for _ in range(3):  # the first answer reads the database; the next ones come from memory
        assert other.audio(bots[0]).status_code == 200

    def credential(resp: httpx.Response) -> str:
        return parse_qs(urlsplit(resp.json()["audio_url"]).query)["X-Amz-Credential"][0].split("/")[0]

    assert credential(other.audio(bots[0])) == first[0]
    # New credentials for the same bucket: the other process signs with them within a second.
    sdk.storage.set(storage_body(moto.endpoint, bucket, second))
    changed = time.monotonic()
    while credential(other.audio(bots[0])) != second[0]:
        assert time.monotonic() - changed < CHANGE_LIMIT_S, "signed with replaced credentials"
        time.sleep(0.02)

    # An erasure: 404 media_deleted there within a second; the other bot is still served.
    assert other.audio(bots[1]).status_code == 200
    erased = time.monotonic()
    sdk.bots.delete_data(bots[1])
    _, resp = refused_within(other, bots[1], erased)
    assert resp.status_code == 404 and resp.json()["code"] == "media_deleted"
    assert other.audio(bots[0]).status_code == 200

    # The configuration deleted: 403 storage_not_accessible there within a second.
    deleted = time.monotonic()
    sdk.storage.delete()
    _, resp = refused_within(other, bots[0], deleted)
    assert resp.status_code == 403 and resp.json()["code"] == "storage_not_accessible"


def test_a_pinned_expiry_is_never_served_past(make_server: Any, second_api: Any) -> None:
    # No worker: no sweep erases the bot, so only the answer's own clock check can refuse it.
    server = make_server("postgres", retention_sweep_s=3600)
    acct = new_account(server)
    sdk = sdk_for(server, acct.api_key)
    # The other process is up before the bot is handed in, and the retention (18 s from hand-in)
    # leaves a loaded machine time to fetch it at least once before it ends.
    other = OtherProcess(second_api(server), acct.api_key)
    body = {"meeting_link": "https://zoom.us/j/1", "recording_config": {"simulated": {"duration_s": 1}, "retention": 0.005}}
    bot_id = sdk.bots.create(body)["bot_id"]
    wait_status(sdk, bot_id, {"Done"}, timeout=60)
    expires = datetime.fromisoformat(sdk.bots.detail(bot_id)["retention"]["expires_at"].replace("Z", "+00:00"))
    served_until = None
    while True:
        asked = datetime.now(expires.tzinfo)
        resp = other.audio(bot_id)
        if resp.status_code != 200:
            break
        served_until = asked
        assert asked < expires, "served after its retention ended"
        time.sleep(0.02)
    assert served_until is not None, "it expired before the test could fetch it once"
    assert resp.status_code == 404 and resp.json()["code"] == "media_expired"
