"""Fixtures for the fault tests: a server on a database URL of the test's choice, a throwaway
PostgreSQL, a tiny file system, and helpers that compare bucket objects by SHA-256 (streamed)."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from meetstore.adapters.db.migrate import upgrade
from meetstore.container import Container, build_container

from conftest import new_account, sdk_for, settings_for
from support.moto_s3 import MotoS3, read_write
from support.pg_throwaway import PostgresUnavailable, ThrowawayPostgres
from support.pipeline import storage_body
from support.processes import worker_env
from support.servers import RunningServer, start_server

MB = 1024 * 1024


@pytest.fixture
def server_on(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Callable[..., RunningServer]]:
    """`server_on(database_url, workers=True, **settings)`: the app on a database of the test's own."""
    running: list[RunningServer] = []

    def factory(database_url: str | None, *, workers: bool = True, **overrides: Any) -> RunningServer:
        data_dir = tmp_path_factory.mktemp("meetstore")
        container = build_container(settings_for(data_dir, database_url, **overrides))
        upgrade(container.db)
        server = start_server(container, workers=workers)
        running.append(server)
        return server

    yield factory
    for s in running:
        s.stop()
        s.container.close()


@pytest.fixture
def throwaway_pg() -> Iterator[ThrowawayPostgres]:
    """A PostgreSQL server of this test's own (never the shared one on 5432), started."""
    try:
        pg = ThrowawayPostgres()
    except PostgresUnavailable as exc:
        pytest.skip(f"no throwaway PostgreSQL: {exc}")
    try:
        pg.start()
        yield pg
    finally:
        pg.destroy()


# --- a tiny file system (for a real ENOSPC) -------------------------------------------------------


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=60)


@pytest.fixture
def tiny_fs() -> Iterator[Callable[[int], Path]]:
    """`tiny_fs(size_bytes)` mounts a file system that small and returns its folder: tmpfs if this
    process may mount, else a loop-mounted ext4 image; skips (saying why) when neither works."""
    mounted: list[tuple[Path, Path | None]] = []
    reasons: list[str] = []

    def make(size: int) -> Path:
        root = Path(tempfile.mkdtemp(prefix="meetstore-tinyfs-"))
        mnt = root / "mnt"
        mnt.mkdir()
        proc = _run("mount", "-t", "tmpfs", "-o", f"size={size},mode=0755", "tmpfs", str(mnt))
        if proc.returncode == 0:
            mounted.append((mnt, None))
            return mnt
        reasons.append(f"tmpfs: {proc.stderr.strip()}")
        image = root / "fs.img"
        steps = [
            ("truncate", "-s", str(max(size, 1024 * 1024)), str(image)),
            ("mkfs.ext4", "-q", "-F", "-m", "0", str(image)),
            ("mount", "-o", "loop", str(image), str(mnt)),
        ]
        for step in steps:
            if shutil.which(step[0]) is None:
                reasons.append(f"loop ext4: {step[0]} is not installed")
                break
            proc = _run(*step)
            if proc.returncode != 0:
                reasons.append(f"loop ext4: {step[0]}: {proc.stderr.strip()}")
                break
        else:
            mounted.append((mnt, image))
            return mnt
        shutil.rmtree(root, ignore_errors=True)
        pytest.skip("cannot mount a small file system here (" + "; ".join(reasons) + ")")

    yield make
    for mnt, _image in mounted:
        _run("umount", "-l", str(mnt))
        shutil.rmtree(mnt.parent, ignore_errors=True)


# --- buckets and objects ---------------------------------------------------------------------------


def list_uploads_statement(bucket: str) -> dict[str, Any]:
    """Lets meetstore find multipart uploads nobody recorded (a worker killed right after creating one)."""
    return {
        "Effect": "Allow",
        "Action": ["s3:ListBucketMultipartUploads"],
        "Resource": [f"arn:aws:s3:::{bucket}"],
    }


def configure_custom(
    server: RunningServer, moto: MotoS3, endpoint: str | None = None, *, list_uploads: bool = False
) -> tuple[str, str, str]:
    """A new account with a read_write custom bucket (default prefix `meetstream`), reached at
    `endpoint` (default: moto itself), optionally allowed to list multipart uploads; returns
    (account_id, api_key, bucket)."""
    bucket = moto.make_bucket()
    statements = read_write(bucket, "meetstream")
    if list_uploads:
        statements.append(list_uploads_statement(bucket))
    keys = moto.make_user(statements)
    acct = new_account(server)
    sdk_for(server, acct.api_key).storage.set(storage_body(endpoint or moto.endpoint, bucket, keys))
    return acct.account_id, acct.api_key, bucket


_ADMIN_CLIENTS: dict[tuple[str, tuple[str, str]], Any] = {}


def admin(moto: MotoS3) -> Any:
    """moto's admin S3 client, built once per admin identity (`moto.admin` builds a new one per
    call, ~0.1-0.2 s each; `moto.reset()` makes a new admin identity)."""
    key = (moto.endpoint, moto.admin_keys)
    client = _ADMIN_CLIENTS.get(key)
    if client is None:
        _ADMIN_CLIENTS.clear()
        client = _ADMIN_CLIENTS[key] = moto.admin
    return client


def object_sha256(moto: MotoS3, bucket: str, key: str) -> tuple[int, str]:
    """Size and SHA-256 of an object, streamed (never the whole object in memory)."""
    body = admin(moto).get_object(Bucket=bucket, Key=key)["Body"]
    h = hashlib.sha256()
    size = 0
    try:
        for chunk in body.iter_chunks(chunk_size=4 * MB):
            h.update(chunk)
            size += len(chunk)
    finally:
        body.close()
    return size, h.hexdigest()


def open_multipart_uploads(moto: MotoS3, bucket: str) -> list[dict[str, Any]]:
    uploads: list[dict[str, Any]] = admin(moto).list_multipart_uploads(Bucket=bucket).get("Uploads", [])
    return uploads


class HashingChunks:
    """Random chunks for a spool file, hashed as they are produced (the expected SHA-256)."""

    def __init__(self, size: int, chunk: int = 4 * MB) -> None:
        self.size = size
        self.chunk = chunk
        self._h = hashlib.sha256()

    def __iter__(self) -> Iterator[bytes]:
        left = self.size
        while left > 0:
            data = os.urandom(min(self.chunk, left))
            self._h.update(data)
            left -= len(data)
            yield data

    @property
    def sha256(self) -> str:
        return self._h.hexdigest()


class Workers:
    """`meetstore worker` child processes; their stderr goes to a file (a pipe could fill up)."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.procs: list[tuple[subprocess.Popen[bytes], IO[bytes]]] = []

    def spawn(self, container: Container) -> subprocess.Popen[bytes]:
        log = (self.logs / f"worker-{len(self.procs)}.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "meetstore.cli", "worker", "--concurrency", "1", "--grace", "5"],
            env=worker_env(
                container, MEETSTORE_UPLOAD_BACKOFF_BASE_S="0.05", MEETSTORE_UPLOAD_BACKOFF_MAX_S="0.5"
            ),
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        self.procs.append((proc, log))
        return proc

    def stop(self, proc: subprocess.Popen[bytes]) -> None:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)

    def close(self) -> None:
        for proc, log in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
            log.close()


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    w = Workers(tmp_path)
    yield w
    w.close()
