"""Worker crash loop: `kill -9` a real `meetstore worker` process mid-multipart-upload, again and
again, over big files; after each restart the file is uploaded exactly once, byte-identical, and
no multipart upload is left open in the bucket.

The slow variant (`make test-reliability`) kills 20 times over files of 50-200 MB on PostgreSQL;
the normal suite runs 2 kills over 50 MB files on SQLite. moto is reset between iterations, so its
memory stays bounded; every object is compared by a streamed SHA-256 (never held twice in memory).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from meetstore.adapters.db.tables import Artifact
from meetstore.worker.uploads import UploadWorker

from .conftest import HashingChunks, Workers, admin, configure_custom, object_sha256, open_multipart_uploads
from support.moto_s3 import MotoS3
from support.pipeline import artifacts, events, pinned_bot, wait_done
from support.servers import RunningServer

MB = 1024 * 1024
CHUNK_MB = 5
SETTINGS: dict[str, Any] = {
    "multipart_threshold_mb": CHUNK_MB,
    "multipart_chunksize_mb": CHUNK_MB,
    "transfer_max_concurrency": 1,
    "lease_seconds": 2.0,
}


@dataclass
class LoopFigures:
    iterations: int = 0
    kills: int = 0
    sizes_mb: list[int] = field(default_factory=list)
    parts_done_at_kill: list[int] = field(default_factory=list)
    takeover_s: list[float] = field(default_factory=list)
    killed_before_recorded: int = 0
    total_bytes: int = 0
    duration_s: float = 0.0


def kill_mid_upload(
    moto: MotoS3, bucket: str, key: str, proc: subprocess.Popen[bytes], target_parts: int
) -> tuple[str, int]:
    """Wait until the worker has a multipart upload open with `target_parts` parts done, then
    `kill -9` it. Returns (UploadId, parts done)."""
    deadline = time.monotonic() + 120
    upload_id: str | None = None
    parts = 0
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the worker exited early ({proc.returncode})")
        if upload_id is None:
            open_now = [u for u in open_multipart_uploads(moto, bucket) if u["Key"] == key]
            if open_now:
                upload_id = open_now[0]["UploadId"]
        if upload_id is not None:
            listed = admin(moto).list_parts(Bucket=bucket, Key=key, UploadId=upload_id)
            parts = len(listed.get("Parts", []))
            if parts >= target_parts:
                break
        time.sleep(0.005)
    assert upload_id is not None, "no multipart upload was opened"
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=10) == -signal.SIGKILL
    return upload_id, parts


def crash_loop(
    server: RunningServer,
    moto: MotoS3,
    workers: Workers,
    sizes_mb: list[int],
    seed: int,
) -> LoopFigures:
    container = server.container
    rng = random.Random(seed)
    figures = LoopFigures()
    started = time.monotonic()
    for n, size_mb in enumerate(sizes_mb):
        if n:
            moto.reset()  # bounded memory: what the previous iteration stored is gone
        account_id, _api_key, bucket = configure_custom(server, moto, list_uploads=True)
        audio = HashingChunks(size_mb * MB)
        bot = pinned_bot(container, account_id, {"audio.mp3": iter(audio)})
        rows = artifacts(container, bot.bot_id)
        key = rows["audio.mp3"].key
        spool = container.settings.spool_dir / bot.bot_id / "audio.mp3"
        total_parts = -(-size_mb // CHUNK_MB)
        target = rng.randint(0, total_parts - 2)

        victim = workers.spawn(container)
        upload_id, parts = kill_mid_upload(moto, bucket, key, victim, target)
        figures.kills += 1
        row = artifacts(container, bot.bot_id)["audio.mp3"]
        assert row.state == "pending" and row.lease_owner is not None  # held by the dead worker
        # Recorded the moment it was opened, unless the kill fell between CreateMultipartUpload's
        # answer and that write (then the successor finds it by listing the key's uploads).
        assert row.multipart_upload_id in (upload_id, None)
        if row.multipart_upload_id is None:
            figures.killed_before_recorded += 1
        assert [u["UploadId"] for u in open_multipart_uploads(moto, bucket)] == [upload_id]
        assert spool.is_file()

        killed_at = time.monotonic()
        survivor = workers.spawn(container)  # the restart
        wait_done(container, bot.bot_id, timeout=180)
        figures.takeover_s.append(round(time.monotonic() - killed_at, 2))
        workers.stop(survivor)

        rows = artifacts(container, bot.bot_id)
        assert sorted(rows) == ["audio.mp3", "manifest.json"]
        audio_row = rows["audio.mp3"]
        # Exactly once: one row, uploaded by one (the second) attempt; one audio.processed event.
        assert (audio_row.state, audio_row.attempts, audio_row.multipart_upload_id) == ("uploaded", 1, None)
        assert rows["manifest.json"].state == "uploaded"
        names = [e["event"] for e in events(container, bot.bot_id)]
        assert names.count("audio.processed") == 1 and names.count("bot.done") == 1
        assert object_sha256(moto, bucket, key) == (audio.size, audio.sha256)
        assert open_multipart_uploads(moto, bucket) == []  # the dead worker's upload was aborted
        assert not spool.exists()

        figures.iterations += 1
        figures.sizes_mb.append(size_mb)
        figures.parts_done_at_kill.append(parts)
        figures.total_bytes += audio.size
    figures.duration_s = round(time.monotonic() - started, 1)
    print("FIGURES crash_loop", json.dumps(figures.__dict__), file=sys.stderr)
    return figures


def test_worker_killed_mid_upload_twice_loses_nothing(
    make_server: Callable[..., RunningServer], moto: MotoS3, workers: Workers
) -> None:
    server = make_server("sqlite", workers=False, **SETTINGS)
    figures = crash_loop(server, moto, workers, [50, 50], seed=11)
    assert figures.kills == 2 and figures.iterations == 2


@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_worker_crash_loop_20_kills_over_50_to_200_mb(
    make_server: Callable[..., RunningServer], moto: MotoS3, workers: Workers
) -> None:
    server = make_server("postgres", workers=False, **SETTINGS)
    rng = random.Random(20)
    sizes = [rng.randint(50, 200) for _ in range(20)]
    sizes[0], sizes[-1] = 50, 200  # both ends of the range, for sure
    figures = crash_loop(server, moto, workers, sizes, seed=20)
    assert figures.kills == 20 and figures.iterations == 20
    assert min(figures.sizes_mb) == 50 and max(figures.sizes_mb) == 200


def test_an_upload_opened_but_never_recorded_is_aborted_by_the_successor(
    make_server: Callable[..., RunningServer], moto: MotoS3
) -> None:
    """The narrowest crash window: killed after CreateMultipartUpload answered, before its UploadId
    was written down. The successor finds the upload by listing the key's uploads and aborts it."""
    server = make_server("sqlite", workers=False, **SETTINGS)
    container = server.container
    account_id, _api_key, bucket = configure_custom(server, moto, list_uploads=True)
    audio = HashingChunks(12 * MB)
    bot = pinned_bot(container, account_id, {"audio.mp3": iter(audio)})
    key = artifacts(container, bot.bot_id)["audio.mp3"].key
    # The dead worker's state: its lease on the row (expired), no UploadId, an upload open in S3.
    orphan = admin(moto).create_multipart_upload(Bucket=bucket, Key=key, ContentType="audio/mpeg")
    with container.db.session() as s:
        row = s.scalars(select(Artifact).where(Artifact.bot_id == bot.bot_id, Artifact.key == key)).one()
        row.lease_owner = "upload-dead-worker"
        row.lease_expires_at = datetime.now(UTC) - timedelta(seconds=1)
    assert [u["UploadId"] for u in open_multipart_uploads(moto, bucket)] == [orphan["UploadId"]]

    survivor = UploadWorker(container.uploads, container.settings, 1)
    survivor.start()
    try:
        wait_done(container, bot.bot_id, timeout=60)
    finally:
        survivor.stop()
    assert object_sha256(moto, bucket, key) == (audio.size, audio.sha256)
    assert open_multipart_uploads(moto, bucket) == []
    row = artifacts(container, bot.bot_id)["audio.mp3"]
    assert (row.state, row.attempts, row.multipart_upload_id) == ("uploaded", 1, None)
