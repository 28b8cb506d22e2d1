"""Figure upload_staged: one 2 GiB recording through the staging spool — a runtime PUTs it to a
`meetstore serve` process (sealed and streamed into an S3 staging bucket), says "left", and a
`meetstore worker` streams it from staging to the destination bucket — against s3transfer's
plain `upload_file` of the same file to the same server; and the peak RSS of both meetstore
processes.

    make bench-upload_staged    # or: .venv/bin/python -m bench.upload_staged [--size-mb 2048] [--rounds 2]

- The destination is moto over https (`moto_server` with a self-signed certificate the clients
  trust through `AWS_CA_BUNDLE`, as S3 is https: botocore then sends a part's checksum as a
  trailer, one pass over the part; IAM checks off, restarted before every seat, spilling
  to /dev/shm as in bench/upload.py): the platform store `s3://bench/platform` (the worker's path
  to it is the customer bucket's but for which client signs; a customer bucket on moto would need
  IAM checks, which cost the server more than the bytes). The staging bucket
  (`MEETSTORE_SPOOL=s3://staging/spool`) is `rclone serve s3` over a folder in /dev/shm: moto
  answers a ranged GET by reading the whole object (4 GETs of 8 MiB from a 256 MiB object took
  1.04 s, one GET of all of it 0.66 s), so a worker reading a 2 GiB staged file part by part would
  measure moto, not meetstore; rclone seeks. PostgreSQL: a database of its own.
- The clock runs from the first byte of the PUT to the artifact row's `uploaded_at`: the bytes
  cross the network twice (runtime → API → staging, then staging → worker → bucket), so the goal
  is 0.45 of the baseline, which crosses it once. The worker is already polling; the PUT streams
  from a file (httpx, 1 MiB reads), as a runtime would.
- Peak RSS: VmHWM (/proc/<pid>/status) of the API process and of the worker after the upload.
- The baseline is bench/upload.py's: `boto3 upload_file` in a child process, same TransferConfig,
  of a plaintext copy written just before. Seats alternate; the best run of each is reported.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg

from bench.common import (
    MB,
    VENV_BIN,
    Moto,
    figure,
    free_port,
    libpq_url,
    meetstore_env,
    moto_server,
    new_master_key,
    note,
    pg_database,
    recording_bot,
    self_signed_tls,
    serve,
    settings_from_env,
    start_worker,
    stop_process,
    temp_dir,
    vm_hwm_mb,
    wait_http,
)
from bench.upload import BUCKET, RSS_LIMIT_MB, _baseline_upload, generate, moto_spill_dir, wait_heartbeat

STAGING = "staging"


@contextlib.contextmanager
def rclone_staging(root: Path) -> Iterator[str]:
    """`rclone serve s3` over `root` with a `staging` bucket; yields its endpoint."""
    (root / STAGING).mkdir(parents=True)
    port = free_port()
    proc = subprocess.Popen(
        [str(VENV_BIN / "rclone"), "serve", "s3", str(root), "--addr", f"127.0.0.1:{port}", "--log-level", "ERROR"],
        env={**os.environ, "RCLONE_AUTH_KEY": '"testing,testing"'},
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/", proc=proc)  # any answer will do
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(proc)


def _chunks(path: Path) -> Iterator[bytes]:
    with path.open("rb") as fh:
        while chunk := fh.read(MB):
            yield chunk


def staged_upload(moto: Moto, env: dict[str, str], url: str, source: Path, account_id: str, work: Path) -> tuple[float, float, float]:
    """(seconds, API peak RSS MiB, worker peak RSS MiB) of one recording through staging."""
    from meetstore.container import build_container

    container = build_container(settings_from_env(env))
    try:
        bot = recording_bot(account_id, datetime.now(UTC))
        bot.runtime = "external"
        with container.db.session() as s:
            s.add(bot)
        with serve(env) as (base, api):
            worker = start_worker(env, 1, log=work / "worker.log")
            try:
                wait_heartbeat(url)
                http = httpx.Client(base_url=f"{base}/internal/v1/bots/{bot.id}", timeout=600)
                claim = http.post("/claim", headers={"Authorization": "Bearer bench-runtime-token"})
                claim.raise_for_status()
                http.headers["Authorization"] = f"Bearer {claim.json()['runtime_credential']}"
                started = datetime.now(UTC)
                put = http.put(
                    "/files/audio.mp3",
                    content=_chunks(source),
                    headers={"Content-Length": str(source.stat().st_size)},
                )
                put.raise_for_status()
                note(f"  the PUT (runtime → API → staging) took {(datetime.now(UTC) - started).total_seconds():.2f} s")
                http.post("/left").raise_for_status()
                seconds = _wait_uploaded(url, bot.id, worker, started)
                api_rss, worker_rss = vm_hwm_mb(api.pid), vm_hwm_mb(worker.pid)
            finally:
                stop_process(worker)
        head = moto.client().head_object(Bucket=BUCKET, Key=f"platform/accounts/{account_id}/meetstream/{bot.id}_audio.mp3")
        assert head["ContentLength"] == source.stat().st_size, "the object did not land whole"
        return seconds, api_rss, worker_rss
    finally:
        container.close()


def _wait_uploaded(url: str, bot_id: str, worker: object, started: datetime) -> float:
    deadline = time.monotonic() + 900
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute(
                "SELECT state, uploaded_at, last_error_code FROM artifacts WHERE bot_id = %s AND kind = 'audio'", (bot_id,)
            ).fetchone()
            if row is not None and row[0] == "uploaded":
                return float((row[1] - started).total_seconds())
            if row is not None and row[0] == "failed":
                raise RuntimeError(f"the upload failed: {row[2]}")
            time.sleep(0.05)
    raise RuntimeError("the staged upload timed out; see worker.log")


def run(size_mb: int = 2048, rounds: int = 2) -> None:
    free = shutil.disk_usage(Path(os.environ.get("TMPDIR", "/tmp"))).free
    if free < 3 * size_mb * MB:
        raise SystemExit(f"not enough disk for a {size_mb} MiB file twice over: {free / MB:.0f} MiB free")
    with (
        temp_dir("upload-staged") as work,
        moto_spill_dir(2 * size_mb) as spill,
        pg_database("upload_staged") as url,
        moto_server(tmpdir=spill, tls=self_signed_tls(work / "tls")) as moto,
        tempfile.TemporaryDirectory(prefix="meetstore-bench-staging-", dir="/dev/shm") as staging_root,
        rclone_staging(Path(staging_root)) as staging_endpoint,
    ):
        env = meetstore_env(
            work / "data",
            url,
            new_master_key(),
            platform_store=f"s3://{BUCKET}/platform",
            platform_s3_endpoint_url=moto.endpoint,
            platform_s3_access_key_id="testing",
            platform_s3_secret_access_key="testing",
            spool=f"s3://{STAGING}/spool",
            spool_s3_endpoint_url=staging_endpoint,
            spool_s3_access_key_id="testing",
            spool_s3_secret_access_key="testing",
            rate_limit_per_minute=100000,
        )
        env["AWS_CA_BUNDLE"] = str(moto.tls)
        from meetstore.adapters.db.migrate import upgrade
        from meetstore.container import build_container

        setup = build_container(settings_from_env(env))
        upgrade(setup.db)
        account_id = setup.accounts.create("bench").account_id
        settings = setup.settings
        setup.close()
        source = work / "source.bin"
        generate(source, size_mb)
        os.sync()
        ours: list[float] = []
        base: list[float] = []
        rss: list[float] = []
        for n in range(rounds):
            for which in ("plain", "staged") if n % 2 == 0 else ("staged", "plain"):
                moto.restart()
                moto.client().create_bucket(Bucket=BUCKET)
                if which == "plain":
                    copy = work / "plain.bin"
                    shutil.copyfile(source, copy)
                    os.sync()
                    seconds, _cpu = _baseline_upload(moto, copy, settings, checksum=False)
                    copy.unlink()
                    base.append(seconds)
                    note(f"round {n + 1}: upload_file (plain)   {seconds:.2f} s ({size_mb / seconds:.0f} MiB/s)")
                    continue
                seconds, api_rss, worker_rss = staged_upload(moto, env, url, source, account_id, work)
                ours.append(seconds)
                rss += [api_rss, worker_rss]
                note(
                    f"round {n + 1}: ingest → staging → bucket {seconds:.2f} s ({size_mb / seconds:.0f} MiB/s), "
                    f"peak RSS API {api_rss:.0f} MiB, worker {worker_rss:.0f} MiB"
                )
        moto.reset()
    best_ours, best_base = min(ours), min(base)
    figure("upload_staged", best_base / best_ours, f"{size_mb / best_ours:.0f} MiB/s through staging", f"{size_mb / best_base:.0f} MiB/s plain upload_file")
    figure("upload_staged_rss", max(rss) / RSS_LIMIT_MB, f"{max(rss):.0f} MiB peak RSS (API and worker)", f"{RSS_LIMIT_MB:g} MiB limit")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=2048)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    run(args.size_mb, args.rounds)


if __name__ == "__main__":
    main()
