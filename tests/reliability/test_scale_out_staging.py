"""Scale-out with no shared disk: two API processes and two workers, each with a data dir of its
own, on PostgreSQL, the spool on an S3 staging bucket and the customer's bucket (moto, IAM
enforced). A runtime hands its files to API 1 and says "left" to API 2; API 1 is killed (-9)
right after; a worker uploads everything, and a worker killed mid-stream is taken over with no
duplicate and no orphaned part."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from meetstore.container import runtime_token

from conftest import new_account, sdk_for
from support.bots import bot_params
from support.moto_s3 import MotoS3, read_write, staging_policy
from support.pipeline import artifacts, events, storage_body, wait_done, wait_until
from support.processes import worker_env
from support.servers import RunningServer, free_port

MB = 1024 * 1024


class Fleet:
    """meetstore processes of their own (`serve`, `worker`), each with a fresh data dir."""

    def __init__(self, server: RunningServer, tmp_path: Path, settings: dict[str, str]) -> None:
        self._server = server
        self._tmp = tmp_path
        self._settings = settings
        self.procs: list[subprocess.Popen[bytes]] = []

    def _env(self, **extra: str) -> dict[str, str]:
        own = self._tmp / f"node-{len(self.procs)}"
        own.mkdir()
        return worker_env(
            self._server.container,
            MEETSTORE_DATA_DIR=str(own),
            MEETSTORE_RUNTIME_TOKEN=runtime_token(self._server.container.settings),
            **self._settings,
            **extra,
        )

    def _spawn(self, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = (self._tmp / f"proc-{len(self.procs)}.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "meetstore.cli", *args], env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        self.procs.append(proc)
        return proc

    def api(self) -> tuple[subprocess.Popen[bytes], str]:
        port = free_port()
        proc = self._spawn(["serve", "--workers", "1", "--no-upload-worker"], self._env(MEETSTORE_PORT=str(port)))
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    return proc, base
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError("an API process did not start")

    def worker(self) -> subprocess.Popen[bytes]:
        return self._spawn(["worker", "--concurrency", "1"], self._env())

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()


@pytest.fixture
def staged(make_server: Callable[..., RunningServer], moto: MotoS3, tmp_path: Path) -> Iterator[tuple[RunningServer, Fleet, str]]:
    staging = moto.make_bucket()
    access, secret = moto.make_user(staging_policy(staging, "staging"))
    settings = {
        "spool": f"s3://{staging}/staging",
        "spool_s3_endpoint_url": moto.endpoint,
        "spool_s3_access_key_id": access,
        "spool_s3_secret_access_key": secret,
    }
    upload = {"multipart_threshold_mb": 5, "multipart_chunksize_mb": 5, "transfer_max_concurrency": 1, "lease_seconds": 2.0}
    # The test's own process holds the schema and reads rows; it runs no worker and takes no file.
    server = make_server("postgres", workers=False, bot_runtime="external", upload_worker=False, **settings, **upload)
    fleet = Fleet(server, tmp_path, {f"MEETSTORE_{k.upper()}": str(v) for k, v in settings.items()})
    yield server, fleet, staging
    fleet.stop()


def _runtime(base: str, token: str, bot_id: str) -> httpx.Client:
    http = httpx.Client(base_url=f"{base}/internal/v1/bots/{bot_id}", timeout=60)
    cred = http.post("/claim", headers={"Authorization": f"Bearer {token}"}).json()["runtime_credential"]
    http.headers["Authorization"] = f"Bearer {cred}"
    return http


def _customer_bot(server: RunningServer, moto: MotoS3) -> tuple[str, str]:
    acct = new_account(server)
    sdk = sdk_for(server, acct.api_key)
    bucket = moto.make_bucket()
    sdk.storage.set(storage_body(moto.endpoint, bucket, moto.make_user(read_write(bucket, "meetstream"))))
    return sdk.bots.create(bot_params(1.0, callback_url="http://127.0.0.1:9/hook"))["bot_id"], bucket


def _hand_in(base_in: str, base_left: str, server: RunningServer, bot_id: str, files: dict[str, bytes]) -> None:
    token = runtime_token(server.container.settings)
    rt = _runtime(base_in, token, bot_id)
    assert rt.post("/status", json={"status": "Recording"}).status_code == 200
    for name, data in files.items():
        assert rt.put(f"/files/{name}", content=data).status_code == 201, name
    other = httpx.Client(base_url=f"{base_left}/internal/v1/bots/{bot_id}", timeout=60, headers=dict(rt.headers))
    resp = other.post("/left")
    assert resp.status_code == 200, resp.text


def test_files_handed_to_one_api_survive_its_death_and_any_worker_uploads_them(
    staged: tuple[RunningServer, Fleet, str], moto: MotoS3
) -> None:
    server, fleet, staging = staged
    bot_id, bucket = _customer_bot(server, moto)
    api1, base1 = fleet.api()
    _api2, base2 = fleet.api()
    files = {"audio.mp3": os.urandom(12 * MB), "chat.json": b'[{"text": "the quarterly numbers"}]'}

    _hand_in(base1, base2, server, bot_id, files)
    os.kill(api1.pid, signal.SIGKILL)  # the machine that took the files is gone
    assert api1.wait(timeout=10) == -signal.SIGKILL
    staged_now = moto.objects(staging, "staging/")
    assert staged_now and all(b"quarterly" not in body for body in staged_now.values())  # sealed

    fleet.worker()
    fleet.worker()
    wait_done(server.container, bot_id, timeout=120)

    stored = moto.objects(bucket, "meetstream/")
    for name, data in files.items():
        assert stored[f"meetstream/{bot_id}_{name}"] == data, name
    assert {a.state for a in artifacts(server.container, bot_id).values()} == {"uploaded"}
    wait_until(lambda: moto.keys(staging, "staging/") == [], 30, "staged copies deleted once uploaded")
    assert not moto.admin.list_multipart_uploads(Bucket=staging).get("Uploads")


def test_a_worker_killed_mid_stream_is_taken_over_with_no_duplicate_and_no_orphan_part(
    staged: tuple[RunningServer, Fleet, str], moto: MotoS3
) -> None:
    server, fleet, _staging = staged
    bot_id, bucket = _customer_bot(server, moto)
    _api, base = fleet.api()
    audio = os.urandom(40 * MB)
    _hand_in(base, base, server, bot_id, {"audio.mp3": audio})

    first = fleet.worker()
    wait_until(
        lambda: bool(artifacts(server.container, bot_id)["audio.mp3"].multipart_upload_id),
        60,
        "the first worker streaming a multipart upload to the customer's bucket",
    )
    os.kill(first.pid, signal.SIGKILL)
    assert first.wait(timeout=10) == -signal.SIGKILL
    fleet.worker()
    wait_done(server.container, bot_id, timeout=120)

    got: Any = moto.admin.get_object(Bucket=bucket, Key=f"meetstream/{bot_id}_audio.mp3")["Body"].read()
    assert hashlib.sha256(got).digest() == hashlib.sha256(audio).digest()
    assert not moto.admin.list_multipart_uploads(Bucket=bucket).get("Uploads")  # no orphaned part
    names = [e["event"] for e in events(server.container, bot_id)]
    assert names.count("audio.processed") == 1 and names.count("bot.done") == 1
