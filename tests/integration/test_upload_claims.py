"""Claiming with leases: concurrent workers never claim the same row, a live lease is respected
(and renewed during a long upload), an expired one is taken over, and completion is fenced.

SQLite and PostgreSQL (`FOR UPDATE SKIP LOCKED`).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

from meetstore.adapters.db.tables import Artifact
from meetstore.container import Container
from meetstore.services.upload_items import UploadOutcome
from meetstore.worker.uploads import UploadWorker

from conftest import ContainerFactory, new_account, sdk_for
from support.fault_proxy import FaultProxy
from support.moto_s3 import MotoS3, read_write
from support.pipeline import (
    artifacts,
    events,
    make_bot,
    pinned_bot,
    random_chunks,
    storage_body,
    wait_done,
)
from support.servers import RunningServer

MB = 1024 * 1024


def insert_pending(container: Container, bot_id: str, account_id: str, n: int) -> list[int]:
    """`n` pending artifact rows (no spool files: these tests only claim them)."""
    now = datetime.now(UTC)
    rows = [
        Artifact(
            bot_id=bot_id,
            account_id=account_id,
            kind="screenshot",
            category="video",
            seq=i,
            participant="",
            spool_name=f"screenshots/{i:05d}.png",
            key=f"k/{bot_id}_screenshots/{i:05d}.png",
            content_type="image/png",
            size=1,
            sha256="00" * 32,
            state="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        for i in range(1, n + 1)
    ]
    with container.db.session() as s:
        s.add_all(rows)
        s.flush()
        return [r.id for r in rows]


def test_concurrent_claims_never_overlap(make_container: ContainerFactory, backend: str) -> None:
    container = make_container(backend, lease_seconds=120.0)
    acct = container.accounts.create("claims")
    bot = make_bot(container, acct.account_id)
    ids = insert_pending(container, bot.bot_id, acct.account_id, 300)

    workers = 4
    barrier = threading.Barrier(workers)
    finished = threading.Event()
    claimed: dict[str, list[int]] = {f"w{n}": [] for n in range(workers)}
    errors: list[BaseException] = []

    def run(name: str) -> None:
        # In rounds: every worker claims at the same moment, so the claims really race each
        # other in every round (a free-running loop let one thread take all rows on a busy machine).
        try:
            for _ in range(len(ids)):
                barrier.wait()
                got = container.uploads.claim(name, 3)
                claimed[name].extend(item.id for item in got)
                if barrier.wait() == 0 and sum(len(v) for v in claimed.values()) >= len(ids):
                    finished.set()
                barrier.wait()
                if finished.is_set():
                    return
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(name,)) for name in claimed]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors

    counts = Counter(i for got in claimed.values() for i in got)
    assert sorted(counts) == sorted(ids)  # every row claimed ...
    assert max(counts.values()) == 1  # ... by exactly one worker
    assert sum(1 for got in claimed.values() if got) >= 2  # really concurrent
    rows = {r.id: r for r in _rows(container, bot.bot_id)}
    for name, got in claimed.items():
        assert all(rows[i].lease_owner == name for i in got)


def _rows(container: Container, bot_id: str) -> list[Artifact]:
    return list(artifacts(container, bot_id).values())


def test_live_lease_is_respected_expired_one_taken_over_and_completion_fenced(
    make_container: ContainerFactory, backend: str
) -> None:
    container = make_container(backend, lease_seconds=0.5)
    acct = container.accounts.create("fence")
    bot = pinned_bot(container, acct.account_id, {"audio.mp3": b"ID3" + b"\x01" * 100})
    uploads = container.uploads

    first = uploads.claim("worker-a", 10)
    assert [a.spool_name for a in first] == ["audio.mp3", "manifest.json"]
    assert uploads.claim("worker-b", 10) == []  # live leases
    time.sleep(0.6)
    second = uploads.claim("worker-b", 10)  # worker-a is presumed dead
    assert [a.id for a in second] == [a.id for a in first]

    # worker-a wakes up: its outcome is not recorded, and it does not finish the bot.
    assert uploads.process(first[0], "worker-a") is UploadOutcome.LOST
    row = artifacts(container, bot.bot_id)["audio.mp3"]
    assert (row.state, row.lease_owner, row.attempts) == ("pending", "worker-b", 0)

    assert [uploads.process(item, "worker-b") for item in second] == [UploadOutcome.UPLOADED] * 2
    rows = artifacts(container, bot.bot_id)
    assert {(r.state, r.attempts) for r in rows.values()} == {("uploaded", 1)}
    names = [e["event"] for e in events(container, bot.bot_id)]
    assert names.count("audio.processed") == 1 and names.count("bot.done") == 1


def test_long_upload_renews_its_lease_and_is_not_taken_over(
    make_server: Callable[..., RunningServer], backend: str, moto: MotoS3
) -> None:
    # The keeper renews every lease/3; the lease leaves a loaded machine 2 s of slack (4/3 s was
    # too little with eight test processes sharing 2 CPUs). The proxy delays each of the ~14 S3
    # requests, so the upload outlives its lease whatever the speed.
    lease = 3.0
    server = make_server(
        backend,
        workers=False,
        lease_seconds=lease,
        multipart_threshold_mb=5,
        multipart_chunksize_mb=5,
        transfer_max_concurrency=1,
    )
    container = server.container
    bucket = moto.make_bucket()
    keys = moto.make_user(read_write(bucket, "meetstream"))
    acct = new_account(server)
    proxy = FaultProxy(moto.port, latency_s=0.75).start()
    try:
        sdk_for(server, acct.api_key).storage.set(storage_body(proxy.url, bucket, keys))
        bot = pinned_bot(container, acct.account_id, {"audio.mp3": random_chunks(60 * MB)})
        owners, taken = upload_while_a_rival_polls(container, bot.bot_id)
    finally:
        proxy.stop()
    assert taken > 2 * lease  # the upload outlived its lease several times over ...
    assert owners == {"worker-a"}  # ... and no one took it over
    row = artifacts(container, bot.bot_id)["audio.mp3"]
    assert (row.state, row.attempts) == ("uploaded", 1)
    assert moto.admin.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def upload_while_a_rival_polls(container: Container, bot_id: str) -> tuple[set[str], float]:
    """worker-a uploads the bot's audio; worker-b polls for work meanwhile. Returns every lease
    owner seen on the row and how long the upload took."""
    a = UploadWorker(container.uploads, container.settings, 1, worker_id="worker-a")
    b = UploadWorker(container.uploads, container.settings, 1, worker_id="worker-b")
    a.start()
    owners: set[str] = set()
    started = time.monotonic()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            row = artifacts(container, bot_id)["audio.mp3"]
            if row.lease_owner:
                owners.add(row.lease_owner)
                if not b.alive():
                    b.start()  # a rival polls while worker-a uploads
            if row.state == "uploaded":
                break
            time.sleep(0.02)
        taken = time.monotonic() - started
        wait_done(container, bot_id, timeout=60)
    finally:
        a.stop()
        b.stop()
    return owners, taken


def test_two_workers_upload_every_file_exactly_once(
    make_server: Callable[..., RunningServer], backend: str, moto: MotoS3
) -> None:
    server = make_server(backend, workers=False)
    container = server.container
    bucket = moto.make_bucket()
    keys = moto.make_user(read_write(bucket, "meetstream"))
    acct = new_account(server)
    sdk_for(server, acct.api_key).storage.set(storage_body(moto.endpoint, bucket, keys))
    files = {f"screenshots/{n:05d}.png": b"\x89PNG" + bytes([n % 256]) * 64 for n in range(1, 41)}
    bot = pinned_bot(container, acct.account_id, files)

    workers = [UploadWorker(container.uploads, container.settings, 3) for _ in range(2)]
    for w in workers:
        w.start()
    try:
        wait_done(container, bot.bot_id, timeout=60)
    finally:
        for w in workers:
            w.stop()
    rows = artifacts(container, bot.bot_id)
    assert len(rows) == 41
    assert {(r.state, r.attempts) for r in rows.values()} == {("uploaded", 1)}
    assert len(moto.keys(bucket, f"meetstream/{bot.bot_id}_screenshots/")) == 40
    assert [e["event"] for e in events(container, bot.bot_id)].count("bot.done") == 1
