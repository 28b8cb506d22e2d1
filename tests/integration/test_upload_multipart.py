"""Big files: multipart uploads, and a worker process killed (`kill -9`) or stopped mid-upload.

Real S3 (moto, IAM on), SQLite and PostgreSQL. The crash tests run `meetstore worker` as a real
child process against the test's database and data directory.
"""

from __future__ import annotations

import base64
import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from meetstore.adapters.db.tables import Artifact, WorkerHeartbeat
from meetstore.container import Container
from meetstore.worker.uploads import UploadWorker

from conftest import new_account, sdk_for
from support.bots import spool_bytes
from support.fault_proxy import FaultProxy
from support.moto_s3 import MotoS3, read_write
from support.pipeline import (
    artifacts,
    events,
    pinned_bot,
    random_chunks,
    storage_body,
    wait_done,
    wait_until,
)
from support.processes import worker_env
from support.servers import RunningServer

MB = 1024 * 1024


def composite_sha256(data: bytes, part_size: int) -> str:
    """S3's checksum of a multipart object: SHA-256 of the parts' SHA-256 digests, '-<parts>'."""
    digests = [hashlib.sha256(data[i : i + part_size]).digest() for i in range(0, len(data), part_size)]
    return f"{base64.b64encode(hashlib.sha256(b''.join(digests)).digest()).decode()}-{len(digests)}"


LIST_UPLOADS = {
    "Effect": "Allow",
    "Action": ["s3:ListBucketMultipartUploads"],
    "Resource": "arn:aws:s3:::{bucket}",
}


def configure(server: RunningServer, moto: MotoS3, *, list_uploads: bool = False) -> tuple[str, str]:
    """A read_write bucket for a new account (with `list_uploads`, the policy also allows
    s3:ListBucketMultipartUploads, as docs/operations.md advises); returns (account_id, bucket)."""
    bucket = moto.make_bucket()
    policy = read_write(bucket, "meetstream")
    if list_uploads:
        policy.append({**LIST_UPLOADS, "Resource": LIST_UPLOADS["Resource"].format(bucket=bucket)})
    keys = moto.make_user(policy)
    acct = new_account(server)
    sdk_for(server, acct.api_key).storage.set(storage_body(moto.endpoint, bucket, keys))
    return acct.account_id, bucket


def test_big_file_goes_multipart_and_lands_intact(
    make_server: Callable[..., RunningServer], backend: str, moto: MotoS3
) -> None:
    server = make_server(backend, multipart_threshold_mb=5, multipart_chunksize_mb=5)
    account_id, bucket = configure(server, moto)
    audio = os.urandom(12 * MB + 12345)
    chat = b'[{"sender": "Ada", "text": "a small file stays one PutObject"}]'
    bot = pinned_bot(server.container, account_id, {"audio.mp3": audio, "chat.json": chat})
    wait_done(server.container, bot.bot_id, timeout=60)

    key = f"meetstream/{bot.bot_id}_audio.mp3"
    s3 = moto.admin
    head = s3.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
    assert head["ContentType"] == "audio/mpeg"
    assert head["ContentLength"] == len(audio)
    # Three 5 MB parts, each sent with its SHA-256 (moto leaves the "-3" part count off the value).
    digest, parts = composite_sha256(audio, 5 * MB).split("-")
    assert head["ChecksumSHA256"] in (f"{digest}-{parts}", digest) and parts == "3"
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == audio

    chat_head = s3.head_object(
        Bucket=bucket, Key=f"meetstream/{bot.bot_id}_chat.json", ChecksumMode="ENABLED"
    )
    assert chat_head["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(chat).digest()).decode()
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    row = artifacts(server.container, bot.bot_id)["audio.mp3"]
    assert (row.state, row.multipart_upload_id, row.spool_deleted) == ("uploaded", None, True)


def test_checksummed_bodies_are_hashed_once_and_still_signed(
    make_server: Callable[..., RunningServer], backend: str, moto: MotoS3
) -> None:
    """Over http botocore would hash every part twice (its SHA-256 checksum, and again for the
    SigV4 payload hash). A part carries a signed x-amz-checksum-sha256 that S3 verifies, so it is
    sent as UNSIGNED-PAYLOAD (botocore's documented `payload_signing_enabled: False`); so is the
    CompleteMultipartUpload XML, whose headers are still signed. moto checks the signatures (IAM on)."""
    server = make_server(backend, multipart_threshold_mb=5, multipart_chunksize_mb=5)
    bucket = moto.make_bucket()
    keys = moto.make_user(read_write(bucket, "meetstream"))
    acct = new_account(server)
    audio = os.urandom(11 * MB)
    with FaultProxy(moto.port) as proxy:
        sdk_for(server, acct.api_key).storage.set(storage_body(proxy.url, bucket, keys))
        bot = pinned_bot(server.container, acct.account_id, {"audio.mp3": audio})
        wait_done(server.container, bot.bot_id, timeout=60)

    assert (
        moto.admin.get_object(Bucket=bucket, Key=f"meetstream/{bot.bot_id}_audio.mp3")["Body"].read() == audio
    )
    heads: dict[str, list[dict[str, str]]] = {}
    for operation, headers in proxy.stats.heads:
        heads.setdefault(operation, []).append(headers)
    parts = heads["UploadPart"]
    assert len(parts) == 3
    for part in parts:
        assert part["x-amz-content-sha256"] == "UNSIGNED-PAYLOAD"
        assert "x-amz-checksum-sha256" in part
        assert "x-amz-checksum-sha256" in part["authorization"]  # the checksum is signed
    (complete,) = heads["CompleteMultipartUpload"]
    assert "x-amz-checksum-sha256" not in complete
    assert complete["x-amz-content-sha256"] == "UNSIGNED-PAYLOAD"
    assert "x-amz-content-sha256" in complete["authorization"]  # the request is still signed


# --- a real worker process, killed or stopped mid-upload ----------------------------------------------


@pytest.fixture
def spawn_worker() -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    procs: list[subprocess.Popen[bytes]] = []

    def spawn(container: Container, *args: str) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            [sys.executable, "-m", "meetstore.cli", "worker", "--concurrency", "1", *args],
            env=worker_env(container),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        procs.append(proc)
        return proc

    yield spawn
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=10)


def open_uploads(moto: MotoS3, bucket: str) -> list[dict[str, Any]]:
    uploads: list[dict[str, Any]] = moto.admin.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    return uploads


def wait_for_open_upload(moto: MotoS3, bucket: str, proc: subprocess.Popen[bytes]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        uploads = open_uploads(moto, bucket)
        if uploads:
            return uploads[0]
        if proc.poll() is not None:
            raise AssertionError(f"worker exited early: {proc.stderr.read().decode() if proc.stderr else ''}")
        time.sleep(0.01)
    raise AssertionError("no multipart upload was opened")


def big_bot(
    server: RunningServer, moto: MotoS3, size: int, *, list_uploads: bool = False
) -> tuple[str, str, Path]:
    account_id, bucket = configure(server, moto, list_uploads=list_uploads)
    bot = pinned_bot(server.container, account_id, {"audio.mp3": random_chunks(size)})
    path = server.container.settings.spool_dir / bot.bot_id / "audio.mp3"
    return bot.bot_id, bucket, path


CRASH_SETTINGS: dict[str, Any] = {
    "multipart_threshold_mb": 5,
    "multipart_chunksize_mb": 5,
    "transfer_max_concurrency": 1,
    "lease_seconds": 2.0,
}


def take_over(container: Container, bot_id: str, timeout: float) -> None:
    """Another worker (in this process) uploads what the stopped one left, until the bot is Done."""
    survivor = UploadWorker(container.uploads, container.settings, 1)
    survivor.start()
    try:
        wait_done(container, bot_id, timeout=timeout)
    finally:
        survivor.stop()


def test_worker_killed_mid_multipart_upload_loses_nothing_and_uploads_once(
    make_server: Callable[..., RunningServer],
    backend: str,
    moto: MotoS3,
    spawn_worker: Callable[..., subprocess.Popen[bytes]],
) -> None:
    server = make_server(backend, workers=False, **CRASH_SETTINGS)
    container = server.container
    bot_id, bucket, path = big_bot(server, moto, 60 * MB)
    original = spool_bytes(container, bot_id, "audio.mp3")
    sealed = path.read_bytes()

    proc = spawn_worker(container)
    upload = wait_for_open_upload(moto, bucket, proc)
    # The id is written to the row just after CreateMultipartUpload answers (a kill in between
    # is the next test's case): wait for it, so the kill lands mid-upload with the id recorded.
    wait_until(
        lambda: artifacts(container, bot_id)["audio.mp3"].multipart_upload_id == upload["UploadId"],
        10,
        "the open multipart upload recorded on the artifact row",
    )
    with container.db.session() as s:
        beats = s.scalars(select(WorkerHeartbeat)).all()
        assert [b.kind for b in beats] == ["upload"]  # the worker process reports itself alive
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=10) == -signal.SIGKILL

    row = artifacts(container, bot_id)["audio.mp3"]
    assert row.state == "pending" and row.lease_owner is not None  # held by the dead worker
    assert row.multipart_upload_id == upload["UploadId"]
    assert [u["UploadId"] for u in open_uploads(moto, bucket)] == [upload["UploadId"]]
    assert path.read_bytes() == sealed

    take_over(container, bot_id, timeout=60)

    key = f"meetstream/{bot_id}_audio.mp3"
    assert moto.admin.get_object(Bucket=bucket, Key=key)["Body"].read() == original
    assert open_uploads(moto, bucket) == []  # the dead worker's upload was aborted
    row = artifacts(container, bot_id)["audio.mp3"]
    assert (row.state, row.attempts, row.multipart_upload_id) == ("uploaded", 1, None)
    names = [e["event"] for e in events(container, bot_id)]
    assert names.count("audio.processed") == 1 and names.count("bot.done") == 1
    assert not path.exists()


@pytest.mark.parametrize("list_uploads", [True, False], ids=["may-list-uploads", "may-not-list-uploads"])
def test_upload_opened_but_never_recorded_is_aborted_by_the_next_worker(
    make_server: Callable[..., RunningServer],
    backend: str,
    moto: MotoS3,
    spawn_worker: Callable[..., subprocess.Popen[bytes]],
    list_uploads: bool,
) -> None:
    """A worker killed between CreateMultipartUpload's answer and writing the UploadId down leaves
    an upload nobody recorded: the worker that takes the artifact over finds it by key and aborts
    it. Without s3:ListBucketMultipartUploads it cannot find it: the file still lands, and the
    stale upload is left for the bucket's lifecycle rule (docs/operations.md)."""
    server = make_server(backend, workers=False, **CRASH_SETTINGS)
    container = server.container
    bot_id, bucket, _path = big_bot(server, moto, 60 * MB, list_uploads=list_uploads)
    original = spool_bytes(container, bot_id, "audio.mp3")

    proc = spawn_worker(container)
    upload = wait_for_open_upload(moto, bucket, proc)
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=10) == -signal.SIGKILL
    with container.db.session() as s:  # the row as that kill leaves it: leased, no upload id
        row = s.scalars(
            select(Artifact).where(Artifact.bot_id == bot_id, Artifact.spool_name == "audio.mp3")
        ).one()
        row.multipart_upload_id = None
    assert [u["UploadId"] for u in open_uploads(moto, bucket)] == [upload["UploadId"]]

    take_over(container, bot_id, timeout=60)

    key = f"meetstream/{bot_id}_audio.mp3"
    assert moto.admin.get_object(Bucket=bucket, Key=key)["Body"].read() == original
    left_open = [u["UploadId"] for u in open_uploads(moto, bucket)]
    assert left_open == ([] if list_uploads else [upload["UploadId"]])
    assert artifacts(container, bot_id)["audio.mp3"].state == "uploaded"


def test_sigterm_cancels_the_upload_and_releases_the_lease(
    make_server: Callable[..., RunningServer],
    moto: MotoS3,
    spawn_worker: Callable[..., subprocess.Popen[bytes]],
) -> None:
    server = make_server("sqlite", workers=False, **{**CRASH_SETTINGS, "lease_seconds": 60.0})
    container = server.container
    bot_id, bucket, path = big_bot(server, moto, 60 * MB)

    proc = spawn_worker(container, "--grace", "0")
    wait_for_open_upload(moto, bucket, proc)
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    assert time.monotonic() - started < 15

    row = artifacts(container, bot_id)["audio.mp3"]
    assert (row.state, row.lease_owner, row.attempts) == ("pending", None, 0)  # given back at once
    assert path.is_file()
    assert open_uploads(moto, bucket) == []  # the manager aborted its multipart upload
    with container.db.session() as s:
        assert s.scalars(select(WorkerHeartbeat)).all() == []

    # Another worker takes it over at once: no 60 s lease to wait out.
    take_over(container, bot_id, timeout=20)
    assert artifacts(container, bot_id)["audio.mp3"].state == "uploaded"
    assert not path.exists()
    wait_until(lambda: open_uploads(moto, bucket) == [], 5, "no open uploads")
