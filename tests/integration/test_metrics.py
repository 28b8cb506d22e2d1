"""/metrics: what an operator scraping meetstore sees of uploads, fetches, validations and queues.

Each test reads the figures before and after something a user does, and checks the difference:
the counters belong to the process (several tests share none: each server has its own registry).
"""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest

from conftest import new_account, sdk_for
from support.moto_s3 import MotoS3, read_only, read_write
from support.pipeline import bot_row, make_bot, pinned_bot, spool, storage_body, wait_done, wait_until
from support.servers import RunningServer

SAMPLE = re.compile(r"^([a-z_]+)(\{[^}]*\})? ([0-9.e+-]+)$")


def scrape(server: RunningServer) -> dict[str, float]:
    """Every sample of /metrics, by `name{labels}`."""
    resp = httpx.get(f"{server.url}/metrics", timeout=10)
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    samples: dict[str, float] = {}
    for line in resp.text.splitlines():
        m = SAMPLE.match(line)
        if m:
            samples[m.group(1) + (m.group(2) or "")] = float(m.group(3))
    return samples


def test_uploads_and_queue_depth_are_counted(make_server: Callable[..., RunningServer], backend: str) -> None:
    server = make_server(backend, workers=False)
    acct = new_account(server)
    files = {"audio.mp3": b"a" * 3000, "chat.json": b"[]"}
    bot = pinned_bot(server.container, acct.account_id, files)

    waiting = scrape(server)
    assert waiting["meetstore_upload_queue_depth"] == 3  # two files and the manifest
    assert waiting["meetstore_upload_queue_oldest_seconds"] >= 0
    assert waiting.get('meetstore_uploads_total{outcome="uploaded"}', 0) == 0

    from meetstore.worker.uploads import UploadWorker

    worker = UploadWorker(server.container.uploads, server.container.settings, 3)
    while worker.run_once():
        pass
    wait_done(server.container, bot.bot_id)

    done = scrape(server)
    assert done['meetstore_uploads_total{outcome="uploaded"}'] == 3
    assert done["meetstore_upload_bytes_total"] >= 3000 + 2
    assert done['meetstore_upload_seconds_count{outcome="uploaded"}'] == 3
    assert done["meetstore_upload_queue_depth"] == 0
    assert done["meetstore_upload_queue_oldest_seconds"] == 0


def test_a_failed_upload_is_counted_as_failed(
    make_server: Callable[..., RunningServer], backend: str, moto: MotoS3
) -> None:
    server = make_server(backend)
    bucket = moto.make_bucket()
    keys = moto.make_user(read_write(bucket, "meetstream"))
    acct = new_account(server)
    sdk_for(server, acct.api_key).storage.set(storage_body(moto.endpoint, bucket, keys))
    moto.set_user_policy(keys[0], read_only(bucket))  # PutObject is refused from now on
    bot = pinned_bot(server.container, acct.account_id, {"audio.mp3": b"x" * 100})
    wait_done(server.container, bot.bot_id)

    after = scrape(server)
    assert after['meetstore_uploads_total{outcome="failed"}'] == 2  # the audio and the manifest
    assert after.get('meetstore_uploads_total{outcome="uploaded"}', 0) == 0
    assert after['meetstore_validations_total{kind="save",result="ok"}'] == 1


def test_fetch_answers_are_counted_by_code(make_server: Callable[..., RunningServer], backend: str) -> None:
    server = make_server(backend)
    acct = new_account(server)
    client = sdk_for(server, acct.api_key)
    recording = make_bot(server.container, acct.account_id)
    headers = {"Authorization": f"Token {acct.api_key}"}

    not_ready = httpx.get(f"{server.api}/bots/{recording.bot_id}/get_audio", headers=headers, timeout=10)
    assert not_ready.status_code == 202
    unknown = httpx.get(f"{server.api}/bots/not-a-bot/get_audio", headers=headers, timeout=10)
    assert unknown.status_code == 404

    done = pinned_bot(server.container, acct.account_id, {"audio.mp3": b"m" * 10})
    wait_done(server.container, done.bot_id)
    assert client.bots.audio(done.bot_id)["audio_url"]
    assert bot_row(server.container, done.bot_id).status == "Done"

    seen = scrape(server)
    assert seen['meetstore_fetches_total{code="media_not_ready",endpoint="get_audio"}'] == 1
    assert seen['meetstore_fetches_total{code="bot_not_found",endpoint="get_audio"}'] == 1
    assert seen['meetstore_fetches_total{code="ok",endpoint="get_audio"}'] == 1


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_webhook_attempts_are_counted(make_server: Callable[..., RunningServer], backend: str) -> None:
    server = make_server(backend, webhook_backoff_base_s=60.0)
    acct = new_account(server)
    bot = make_bot(server.container, acct.account_id)  # callback on a closed port: every attempt fails
    spool(server.container, bot, "chat.json", b"[]")

    def attempted() -> bool:
        return scrape(server).get('meetstore_webhook_attempts_total{state="pending"}', 0) >= 1

    server.container.handin.left(bot.bot_id)
    wait_until(attempted, 30, "a failed webhook attempt counted")
