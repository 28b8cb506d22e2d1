"""Webhooks end to end: a bot created through the official SDK, recorded by the simulated runtime,
uploaded by the real worker, and its events delivered to a real receiver on 127.0.0.1."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from meetstream import verify_webhook_signature

from conftest import new_account, sdk_for
from support.bots import bot_params, uploads_implemented, wait_status
from support.moto_s3 import MotoS3, put_only
from support.servers import RunningServer
from support.webhook_receiver import HANG, Received, WebhookReceiver, wait_until

LIFECYCLE = ["bot.joining", "bot.inmeeting", "bot.recording", "bot.leaving", "bot.stopped"]
PROCESSED = {"audio.processed", "video.processed", "transcription.processed"}


@pytest.fixture
def receivers() -> Iterator[Callable[..., WebhookReceiver]]:
    made: list[WebhookReceiver] = []

    def factory(respond: Callable[[Received], Any] | None = None) -> WebhookReceiver:
        r = WebhookReceiver(respond) if respond else WebhookReceiver()
        made.append(r)
        return r

    yield factory
    for r in made:
        r.stop()


def require_pipeline(server: RunningServer) -> None:
    if not uploads_implemented(server.container):
        pytest.skip("the upload service is still a stub: no *.processed / bot.done events yet")


def storage_body(moto: MotoS3, bucket: str, keys: tuple[str, str], **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "provider": "aws",
        "bucket_name": bucket,
        "region": "us-east-1",
        "access_key_id": keys[0],
        "secret_key": keys[1],
        "endpoint_url": moto.endpoint,
    }
    out.update(extra)
    return out


def delivered_until_done(receiver: WebhookReceiver, timeout: float = 45.0) -> list[Received]:
    return receiver.wait_for(lambda rs: any(r.ok and r.event == "bot.done" for r in rs), timeout=timeout)


def test_sdk_bot_sends_the_lifecycle_in_order_with_done_last(
    server: RunningServer, receivers: Callable[..., WebhookReceiver]
) -> None:
    require_pipeline(server)
    acct = new_account(server)
    client = sdk_for(server, acct.api_key)
    receiver = receivers()
    bot_id = client.bots.create(
        bot_params(1.0, callback_url=receiver.url, custom_attributes={"ticket": "T-1"})
    )["bot_id"]

    reqs = delivered_until_done(receiver)
    time.sleep(0.3)
    reqs = receiver.snapshot()
    events = [r.event for r in reqs]
    assert events[:5] == LIFECYCLE
    assert set(events[5:-1]) == PROCESSED and len(events) == 9, events
    assert events[-1] == "bot.done"
    assert [r.delivery_id for r in reqs] == sorted(r.delivery_id for r in reqs)
    assert all(r.status == 200 for r in reqs), "each event sent once"
    for r in reqs:
        assert verify_webhook_signature(r.body, r.signature, acct.webhook_secret)
        doc = r.json()
        assert doc["event"] == r.event
        assert doc["bot_id"] == bot_id
        assert doc["custom_attributes"] == {"ticket": "T-1"}
        assert doc["timestamp"].endswith("Z")
        assert isinstance(doc["message"], str) and doc["message"]
    statuses = {r.event: r.json()["bot_status"] for r in reqs}
    assert statuses["bot.joining"] == "Joining"
    assert statuses["bot.stopped"] == "Stopped"
    assert statuses["bot.done"] == "Done"
    assert client.bots.status(bot_id)["status"] == "Done"
    wait_until(
        lambda: {h["state"] for h in client.bots.detail(bot_id)["webhooks"]} == {"delivered"},
        what="detail shows every event delivered",
    )
    hooks = client.bots.detail(bot_id)["webhooks"]
    assert [h["event"] for h in hooks] == events
    assert all(h["attempts"] == 1 and h["last_status"] == 200 for h in hooks), hooks


def test_put_denied_bucket_sends_upload_failed_with_the_s3_error(
    server: RunningServer, moto: MotoS3, receivers: Callable[..., WebhookReceiver]
) -> None:
    require_pipeline(server)
    bucket = moto.make_bucket()
    keys = moto.make_user(put_only(bucket, "meetstream"))
    acct = new_account(server)
    client = sdk_for(server, acct.api_key)
    client.storage.set(storage_body(moto, bucket, keys, access_mode="write_only"))
    # The customer narrows the policy afterwards: nothing under the configured prefix may be put.
    moto.set_user_policy(keys[0], put_only(bucket, "somewhere-else"))
    receiver = receivers()
    bot_id = client.bots.create(bot_params(1.0, callback_url=receiver.url))["bot_id"]

    reqs = delivered_until_done(receiver, timeout=60)
    events = [r.event for r in reqs]
    assert events[:5] == LIFECYCLE
    assert events[-1] == "bot.done"
    assert not PROCESSED & set(events), "nothing was stored"
    failed = [r for r in reqs if r.event == "storage.upload_failed"]
    assert failed, events
    assert len(failed) == len(events) - 6, "one per file, between bot.stopped and bot.done"
    for r in failed:
        assert verify_webhook_signature(r.body, r.signature, acct.webhook_secret)
        doc = r.json()
        assert doc["bot_id"] == bot_id
        assert doc["s3_error"] == "AccessDenied"
        assert doc["operation"] == "PutObject"
        assert doc["bucket"] == bucket
        assert doc["key"].startswith("meetstream/")
        assert "s3:PutObject" in doc["message"]
        assert keys[0] not in r.body.decode() and keys[1] not in r.body.decode()
        assert acct.webhook_secret not in r.body.decode()
    failed_keys = [r.json()["key"] for r in failed]
    assert any(k.endswith("audio.mp3") for k in failed_keys) and any(
        k.endswith("video.mp4") for k in failed_keys
    )
    assert moto.keys(bucket) == [k for k in moto.keys(bucket) if ".write_probe_" in k]
    assert client.bots.status(bot_id)["status"] == "Done"


def test_write_only_processed_events_say_where_the_file_is(
    server: RunningServer, moto: MotoS3, receivers: Callable[..., WebhookReceiver]
) -> None:
    require_pipeline(server)
    bucket = moto.make_bucket()
    keys = moto.make_user(put_only(bucket, "meetstream"))
    acct = new_account(server)
    client = sdk_for(server, acct.api_key)
    client.storage.set(storage_body(moto, bucket, keys, access_mode="write_only"))
    receiver = receivers()
    client.bots.create(bot_params(1.0, callback_url=receiver.url))

    reqs = delivered_until_done(receiver, timeout=60)
    processed = {r.event: r.json() for r in reqs if r.event in PROCESSED}
    assert set(processed) == PROCESSED
    stored = moto.objects(bucket, "meetstream/")
    for doc in processed.values():
        assert doc["bucket"] == bucket
        assert doc["key"] in stored and stored[doc["key"]]


def test_hanging_receiver_holds_back_neither_uploads_nor_another_bots_webhooks(
    server: RunningServer, receivers: Callable[..., WebhookReceiver]
) -> None:
    require_pipeline(server)
    acct = new_account(server)
    client = sdk_for(server, acct.api_key)
    stuck = receivers(lambda _r: HANG)
    healthy = receivers()
    stuck_bot = client.bots.create(bot_params(1.0, callback_url=stuck.url))["bot_id"]
    ok_bot = client.bots.create(bot_params(1.0, callback_url=healthy.url))["bot_id"]

    wait_status(client, stuck_bot, {"Done"}, timeout=45)
    reqs = delivered_until_done(healthy)
    assert {r.json()["bot_id"] for r in reqs} == {ok_bot}
    assert reqs[-1].event == "bot.done"
    assert len(stuck.snapshot()) == 1 and stuck.snapshot()[0].status is None
    # The stuck bot's files are stored although none of its webhooks got through.
    detail = client.bots.detail(stuck_bot)
    states = {a["state"] for a in detail["storage"]["artifacts"]}
    assert states == {"uploaded"}
