"""Erasure under faults: a `meetstore worker` killed (-9) in the middle of an erasure, and an
erasure requested while an upload is held up on its way to the bucket (the tests' fault proxy).
In both, the receipt says `deleted` and the bucket ends — and stays — empty."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from meetstore.adapters.db.tables import Erasure

from .conftest import Workers
from conftest import new_account, sdk_for
from support.fault_proxy import FaultProxy
from support.moto_s3 import MotoS3, may_delete, read_write
from support.pipeline import artifacts, bot_row, pinned_bot, storage_body, wait_done, wait_until
from support.servers import RunningServer

FILES = {f"screenshots/{n:05d}.png": b"\x89PNG" + bytes([n]) * 200 for n in range(1, 9)} | {
    "audio.mp3": b"ID3 in the bucket" * 500,
    "chat.json": b'[{"text": "to be erased"}]',
}


@pytest.fixture
def proxy(moto: MotoS3) -> Iterator[FaultProxy]:
    p = FaultProxy(moto.port, rate=0.0, seed=14)
    p.start()
    yield p
    p.stop()


def customer(server: RunningServer, moto: MotoS3, proxy: FaultProxy) -> tuple[Any, str, str]:
    """An account whose bucket (reached through the proxy) lets meetstore write, read and delete."""
    bucket = moto.make_bucket()
    keys = moto.make_user([*read_write(bucket, "meetstream"), may_delete(bucket, "meetstream")])
    acct = new_account(server)
    sdk_for(server, acct.api_key).storage.set(storage_body(proxy.url, bucket, keys))
    return acct, acct.api_key, bucket


def delete(server: RunningServer, api_key: str, bot_id: str) -> httpx.Response:
    return httpx.delete(f"{server.api}/bots/{bot_id}/delete", headers={"Authorization": f"Token {api_key}"}, timeout=60)


def receipt_of(server: RunningServer, bot_id: str, timeout: float = 90) -> dict[str, Any]:
    def finished() -> bool:
        return bot_row(server.container, bot_id).deletion is not None

    wait_until(finished, timeout, "the erasure's receipt")
    receipt = bot_row(server.container, bot_id).deletion
    assert receipt is not None
    return receipt


def test_worker_killed_mid_erasure_is_resumed_by_another(
    server_on: Callable[..., RunningServer], moto: MotoS3, proxy: FaultProxy, workers: Workers
) -> None:
    # The API process runs no workers: the erasure is done by `meetstore worker` processes.
    server = server_on(None, workers=False, lease_seconds=2.0, erasure_wait_s=0.2)
    acct, api_key, bucket = customer(server, moto, proxy)
    bot = pinned_bot(server.container, acct.account_id, FILES, callback_url=None)
    first = workers.spawn(server.container)
    wait_done(server.container, bot.bot_id, timeout=60)
    stored = set(moto.keys(bucket, "meetstream/"))
    assert len(stored) == len(FILES) + 1  # and the manifest

    proxy.latency_s = 3.0  # the bucket's answers now take a while: the kill lands mid-erasure
    accepted = delete(server, api_key, bot.bot_id)
    assert accepted.status_code == 202 and accepted.json()["status"] == "deleting", accepted.text
    shown = sdk_for(server, api_key).bots.detail(bot.bot_id)["deletion"]
    assert shown["status"] == "deleting" and shown["requested_at"]

    def erasing() -> bool:
        ops = [op for op, _ in proxy.stats.heads]
        return any(op.startswith("POST") or op in ("HeadObject", "DeleteObject") for op in ops[-5:])

    wait_until(erasing, 60, "the erasure reaching the bucket")
    os.kill(first.pid, signal.SIGKILL)
    assert first.wait(timeout=10) == -signal.SIGKILL
    with server.container.db.session() as s:
        job = s.scalars(select(Erasure).where(Erasure.bot_id == bot.bot_id)).one()
        assert job.state == "pending" and job.lease_owner is not None  # held by the dead worker
    assert bot_row(server.container, bot.bot_id).deletion is None  # not finished by the dead one

    proxy.latency_s = 0.0
    workers.spawn(server.container)  # takes the erasure over when the dead one's lease ends
    receipt = receipt_of(server, bot.bot_id)

    assert receipt["status"] == "deleted", receipt["objects"]
    in_bucket = {o["location"]: o["result"] for o in receipt["objects"] if o["location"].startswith("s3://")}
    assert set(in_bucket) == {f"s3://{bucket}/{k}" for k in stored}
    assert set(in_bucket.values()) == {"deleted"}
    assert moto.keys(bucket, "meetstream/") == []
    again = delete(server, api_key, bot.bot_id)
    assert again.status_code == 200 and again.json()["deletion"] == receipt


def test_upload_held_up_on_its_way_to_the_bucket_never_reappears(
    server_on: Callable[..., RunningServer], moto: MotoS3, proxy: FaultProxy
) -> None:
    server = server_on(None, lease_seconds=2.0, erasure_wait_s=0.5)
    acct, api_key, bucket = customer(server, moto, proxy)
    proxy.latency_s = 2.5  # every write takes 2.5 s to reach moto
    bot = pinned_bot(server.container, acct.account_id, FILES, callback_url=None)
    wait_until(lambda: any(op == "PutObject" for op, _ in proxy.stats.heads), 30, "an upload in flight")

    asked = time.monotonic()
    answer = delete(server, api_key, bot.bot_id)
    assert answer.status_code in (200, 202), answer.text
    receipt = receipt_of(server, bot.bot_id)
    print(f"receipt after {time.monotonic() - asked:.1f}s")

    assert receipt["status"] == "deleted", receipt["objects"]
    assert moto.keys(bucket, "meetstream/") == []
    # Past every held-up write (and a lease or two): still nothing, and nothing marked uploaded.
    time.sleep(proxy.latency_s + 2 * 2.0 + 1)
    assert moto.keys(bucket, "meetstream/") == []
    assert {a.state for a in artifacts(server.container, bot.bot_id).values()} == {"erased"}
    resp = httpx.get(
        f"{server.api}/bots/{bot.bot_id}/get_audio", headers={"Authorization": f"Token {api_key}"}, timeout=30
    )
    assert resp.status_code == 404 and resp.json()["code"] == "media_deleted"
