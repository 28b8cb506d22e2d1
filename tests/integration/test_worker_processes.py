"""`meetstore worker` processes on one PostgreSQL: two processes never claim the same artifact row,
and the lease of a worker that stops (SIGSTOP: frozen, as a hung or partitioned machine) expires and
is taken over by the other, whose upload is the only one that lands.

Real processes (the CLI), a real S3 (moto, IAM on; the platform bucket is versioned, so every write
of a key is counted), PostgreSQL. Claims are observed with a trigger of the test's own schema that
logs every change of `artifacts.lease_owner` (which worker took which row, when): the code under
test is not touched.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from meetstore.container import Container

from conftest import ContainerFactory
from support.moto_s3 import MotoS3, read_write
from support.pipeline import artifacts, pinned_bot, random_chunks, wait_until

pytestmark = pytest.mark.postgres

MB = 1024 * 1024
MEETSTORE = Path(sys.executable).with_name("meetstore")

CLAIM_LOG = """
CREATE TABLE claim_log (artifact_id bigint, owner text, at timestamptz DEFAULT clock_timestamp());
CREATE FUNCTION log_claim() RETURNS trigger AS $$
BEGIN
    INSERT INTO claim_log (artifact_id, owner) VALUES (NEW.id, NEW.lease_owner);
    RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER log_claim AFTER UPDATE OF lease_owner ON artifacts FOR EACH ROW
    WHEN (NEW.lease_owner IS NOT NULL AND NEW.lease_owner IS DISTINCT FROM OLD.lease_owner)
    EXECUTE FUNCTION log_claim();
"""


@dataclass(frozen=True)
class Claim:
    artifact_id: int
    owner: str
    at: datetime


@dataclass
class Platform:
    container: Container
    bucket: str
    env: dict[str, str]


@pytest.fixture
def platform(make_container: ContainerFactory, moto: MotoS3, tmp_path: Path) -> Iterator[Platform]:
    """A PostgreSQL container whose platform store is a versioned moto bucket, the claim log, and
    the environment a `meetstore worker` process needs to share its database and spool."""
    bucket = moto.make_bucket()
    moto.admin.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    keys = moto.make_user(read_write(bucket, "platform"))
    store = {
        "platform_store": f"s3://{bucket}/platform",
        "platform_s3_endpoint_url": moto.endpoint,
        "platform_s3_access_key_id": keys[0],
        "platform_s3_secret_access_key": keys[1],
        "lease_seconds": 1.5,
        "multipart_threshold_mb": 5,
        "multipart_chunksize_mb": 5,
        "transfer_max_concurrency": 1,
    }
    container = make_container("postgres", **store)
    with container.db.engine.begin() as conn:
        conn.exec_driver_sql(CLAIM_LOG)
    settings = container.settings
    assert settings.master_key is not None and settings.database_url is not None
    env = dict(os.environ)
    env.update({f"MEETSTORE_{k.upper()}": str(v) for k, v in store.items()})
    env.update(
        {
            "MEETSTORE_DATA_DIR": str(settings.data_dir),
            "MEETSTORE_DATABASE_URL": settings.database_url,
            "MEETSTORE_MASTER_KEY": settings.master_key.get_secret_value(),
            "MEETSTORE_RUNTIME_TOKEN": "worker-process-test",
            "MEETSTORE_POLL_INTERVAL_S": "0.05",
            "MEETSTORE_UPLOAD_BACKOFF_BASE_S": "0.05",
            "MEETSTORE_LOG_LEVEL": "WARNING",
        }
    )
    yield Platform(container, bucket, env)


class Workers:
    """`meetstore worker` processes; stopped (SIGCONT, SIGTERM, then SIGKILL) at the end."""

    def __init__(self, platform: Platform, tmp_path: Path) -> None:
        self.platform = platform
        self.tmp_path = tmp_path
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, concurrency: int) -> subprocess.Popen[bytes]:
        log = (self.tmp_path / f"worker-{len(self.procs)}.log").open("wb")
        proc = subprocess.Popen(
            [str(MEETSTORE), "worker", "--concurrency", str(concurrency), "--grace", "2"],
            env=self.platform.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.procs.append(proc)
        wait_until(lambda: self.owner_of(proc) is not None, 60, f"worker {proc.pid} heartbeat")
        return proc

    def owner_of(self, proc: subprocess.Popen[bytes]) -> str | None:
        """The worker id of a process (`upload-<host>-<pid>-<hex>`), from its heartbeat."""
        assert proc.poll() is None, (self.tmp_path / "worker-0.log").read_text(errors="replace")
        with self.platform.container.db.engine.connect() as conn:
            ids = conn.execute(
                sa.text("SELECT worker_id FROM worker_heartbeats WHERE kind = 'upload'")
            ).scalars()
            return next((w for w in ids if f"-{proc.pid}-" in w), None)

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGCONT)
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


@pytest.fixture
def workers(platform: Platform, tmp_path: Path) -> Iterator[Workers]:
    running = Workers(platform, tmp_path)
    yield running
    running.stop_all()


def claims(container: Container) -> list[Claim]:
    with container.db.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT artifact_id, owner, at FROM claim_log ORDER BY at")).all()
    return [Claim(int(r[0]), str(r[1]), r[2]) for r in rows]


def versions(moto: MotoS3, bucket: str, prefix: str) -> dict[str, list[dict[str, Any]]]:
    """Every version of every key under `prefix`: one per write."""
    out: dict[str, list[dict[str, Any]]] = {}
    pages = moto.admin.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=prefix)
    for page in pages:
        for v in page.get("Versions", []):
            out.setdefault(v["Key"], []).append(v)
    return out


def test_two_worker_processes_never_claim_the_same_row(
    platform: Platform, workers: Workers, moto: MotoS3
) -> None:
    container = platform.container
    a = workers.start(concurrency=3)
    b = workers.start(concurrency=3)
    owner_a, owner_b = workers.owner_of(a), workers.owner_of(b)
    acct = container.accounts.create("two workers")
    files = {f"screenshots/{n:05d}.png": b"\x89PNG" + bytes([n % 256]) * 512 for n in range(1, 21)}
    bots = [pinned_bot(container, acct.account_id, files, callback_url=None) for _ in range(2)]

    def all_uploaded() -> bool:
        return all(r.state == "uploaded" for bot in bots for r in artifacts(container, bot.bot_id).values())

    wait_until(all_uploaded, 90, "every artifact uploaded by the two worker processes")

    rows = {r.id: r for bot in bots for r in artifacts(container, bot.bot_id).values()}
    assert len(rows) == 2 * 21  # 20 screenshots and a manifest per bot
    assert {(r.state, r.attempts) for r in rows.values()} == {("uploaded", 1)}

    log = [c for c in claims(container) if c.artifact_id in rows]
    claimed_by: dict[int, list[str]] = {}
    for c in log:
        claimed_by.setdefault(c.artifact_id, []).append(c.owner)
    assert sorted(claimed_by) == sorted(rows)  # every row was claimed ...
    assert {i: len(owners) for i, owners in claimed_by.items()} == {i: 1 for i in rows}  # ... once
    per_worker = {owner: sum(1 for o in claimed_by.values() if o == [owner]) for owner in (owner_a, owner_b)}
    assert all(n > 0 for n in per_worker.values()), per_worker  # both processes did real work
    assert sum(per_worker.values()) == len(rows)

    written = versions(moto, platform.bucket, "platform/")
    assert sorted(written) == sorted(r.key for r in rows.values())
    assert {key: len(v) for key, v in written.items()} == {r.key: 1 for r in rows.values()}


def test_expired_lease_of_a_frozen_worker_process_is_taken_over(
    platform: Platform, workers: Workers, moto: MotoS3
) -> None:
    container = platform.container
    lease = container.settings.lease_seconds
    a = workers.start(concurrency=1)
    owner_a = workers.owner_of(a)
    acct = container.accounts.create("takeover")
    data = b"".join(random_chunks(48 * MB))
    bot = pinned_bot(container, acct.account_id, {"audio.mp3": data}, callback_url=None)

    def audio() -> Any:
        return artifacts(container, bot.bot_id)["audio.mp3"]

    # Worker A claims the audio and starts its multipart upload; freeze it there (a tight poll:
    # the upload takes about a second).
    deadline = time.monotonic() + 30
    while audio().multipart_upload_id is None:
        assert audio().state == "pending", "worker A finished before it could be frozen"
        assert time.monotonic() < deadline, "worker A never started its multipart upload"
        time.sleep(0.005)
    a.send_signal(signal.SIGSTOP)
    _no_transaction_left_open(container, audio().id, a)
    frozen = audio()
    assert (frozen.state, frozen.lease_owner) == ("pending", owner_a)
    a_upload_id = frozen.multipart_upload_id

    # Worker B starts while A's lease is live: it waits the lease out, then takes the row over.
    b = workers.start(concurrency=1)
    owner_b = workers.owner_of(b)
    wait_until(lambda: audio().state == "uploaded", 60, "worker B's upload of the audio")
    # A wakes up late: its lease is gone, so nothing it does is recorded.
    a.send_signal(signal.SIGCONT)
    time.sleep(lease)

    row = audio()
    assert (row.state, row.attempts, row.lease_owner) == ("uploaded", 1, None)
    audio_claims = [c for c in claims(container) if c.artifact_id == row.id]
    assert [c.owner for c in audio_claims] == [owner_a, owner_b]
    assert frozen.lease_expires_at is not None
    assert audio_claims[1].at >= frozen.lease_expires_at  # taken over only once the lease expired

    written = versions(moto, platform.bucket, "platform/")
    assert len(written[row.key]) == 1  # one write of the audio: B's
    body = moto.admin.get_object(Bucket=platform.bucket, Key=row.key)["Body"].read()
    open_uploads = moto.admin.list_multipart_uploads(Bucket=platform.bucket).get("Uploads", [])
    assert hashlib.sha256(body).digest() == hashlib.sha256(data).digest()
    assert a_upload_id not in {u["UploadId"] for u in open_uploads}  # B aborted what A left open
    assert open_uploads == []
    assert a.poll() is None and b.poll() is None  # both still running; stopped by the fixture


def _no_transaction_left_open(container: Container, artifact_id: int, proc: subprocess.Popen[bytes]) -> None:
    """A process frozen inside a transaction would hold the row's lock (the other worker then skips
    the row until it thaws): let it run on a moment until the row is free."""
    for _ in range(50):
        with container.db.engine.connect() as conn:
            try:
                conn.execute(
                    sa.text("SELECT id FROM artifacts WHERE id = :id FOR UPDATE NOWAIT"), {"id": artifact_id}
                )
                conn.rollback()
                return
            except sa.exc.OperationalError:
                conn.rollback()
        proc.send_signal(signal.SIGCONT)
        time.sleep(0.005)
        proc.send_signal(signal.SIGSTOP)
    raise AssertionError("the frozen worker keeps the artifact row locked")
