"""Figure 2, upload: a `meetstore worker` process uploading one 2 GiB recording to the moto server,
against s3transfer's plain `upload_file` of the same file to the same server; and the worker's
peak RSS.

    make bench-upload           # or: .venv/bin/python -m bench.upload [--size-mb 2048] [--rounds 3]

- moto runs as its own process (`moto_server`, IAM checks off), started afresh before every upload:
  a reset empties it, but its process keeps the memory of the objects it held, and the next
  upload to it ran up to 20% slower than to a fresh one. PostgreSQL: a database of its own.
- The platform store is `s3://bench/platform` on moto; meetstore's upload settings are the defaults
  (multipart above 16 MiB, 8 MiB parts, 4 parts in flight, a SHA-256 checksum per part, 60 s
  read timeout: moto needs 10-20 s to complete a 2 GiB multipart upload).
- meetstore: a bot's 2 GiB `audio.mp3` goes into the spool through the ingest service; with the
  worker (`meetstore worker --concurrency 1`) already polling, the bot leaves ("left": the artifact
  rows become due) and the clock runs until the audio row is `uploaded` (the row's uploaded_at).
  The worker's peak RSS is its VmHWM (/proc/<pid>/status) after the upload.
- baselines, in a child process as well: `boto3 client.upload_file` (s3transfer) of the same bytes
  with the same TransferConfig (16/8 MiB, 4 threads), of a spool file written just before by the
  same ingest code as the worker's (`spool_copy` says why that matters on this VM): plain (figure `upload`), and with
  `ChecksumAlgorithm=SHA256`, the integrity check meetstore always asks S3 for
  (`upload_same_checksum`: what meetstore's pipeline itself costs).
- The three alternate, in turn first and last (`--rounds`, default 3); the best run of each is
  reported. Generated files are deleted, moto is reset.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from bench.common import (
    MB,
    Moto,
    cpu_seconds,
    figure,
    libpq_url,
    meetstore_env,
    moto_server,
    new_master_key,
    note,
    pg_database,
    recording_bot,
    settings_from_env,
    start_worker,
    stop_process,
    temp_dir,
    vm_hwm_mb,
)

BUCKET = "bench"
RSS_LIMIT_MB = 150.0

BASELINE = textwrap.dedent(
    """
    import sys, time, boto3
    from boto3.s3.transfer import TransferConfig
    from botocore.config import Config
    endpoint, path, key, threshold_mb, chunk_mb, threads, checksum = sys.argv[1:8]
    MB = 1024 * 1024
    s3 = boto3.session.Session().client(
        "s3", region_name="us-east-1", endpoint_url=endpoint,
        aws_access_key_id="testing", aws_secret_access_key="testing",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )  # an https endpoint is trusted through AWS_CA_BUNDLE
    config = TransferConfig(multipart_threshold=int(threshold_mb) * MB,
                            multipart_chunksize=int(chunk_mb) * MB, max_concurrency=int(threads))
    extra = {"ChecksumAlgorithm": "SHA256"} if checksum == "sha256" else None
    started, cpu = time.perf_counter(), time.process_time()
    s3.upload_file(path, "bench", key, ExtraArgs=extra, Config=config)
    print(time.perf_counter() - started, time.process_time() - cpu)
    """
)


def generate(path: Path, size_mb: int) -> None:
    with path.open("wb") as fh:
        for _ in range(size_mb // 8):
            fh.write(os.urandom(8 * MB))
        fh.write(os.urandom((size_mb % 8) * MB))


def spool_copy(container: Any, account_id: str, source: Path) -> tuple[str, Path]:
    """A new bot with a copy of `source` as its `audio.mp3`, written (sealed) by the ingest service
    and flushed to disk, and a plaintext copy written beside it: (bot id, the plaintext copy).
    Every seat writes both just before its upload: the worker uploads the spool file, the
    baselines the plaintext copy.

    On this VM that matters: free page reporting (virtio-balloon, page_reporting_order 9,
    min_free_ms 0) hands freed memory back to the host at once, so memory the kernel then hands
    out costs a host fault per page (`dd` of 16 GiB into /dev/shm: 300-450 MB/s, all system
    time), and how much of it is still warm depends on what ran just before. Writing a 2 GiB
    copy takes the pages the previous seat had just freed; when only the worker's seat wrote one
    and the baselines uploaded the long-cached source file, the baselines found those pages
    still there and ran 15-25% faster through the very same code (1 GiB, 4 rounds, meetstore's
    own S3 client: 10.8-11.7 s for the old file, 13.0-17.4 s for a fresh copy; the worker
    12.3-15.1 s). So both sides now get the same preparation, from the same code.
    """
    bot = recording_bot(account_id, datetime.now(UTC))
    bot_id: str = bot.id
    with container.db.session() as s:
        s.add(bot)
    with source.open("rb") as fh:
        container.ingest.save_file(bot_id, "audio.mp3", fh)
    plain = container.settings.spool_dir / f"{bot_id}.plain"
    shutil.copyfile(source, plain)
    # The copies' writeback is not part of the upload (a recording spools for minutes).
    os.sync()
    return bot_id, plain


def baseline_upload(
    moto: Moto, env: dict[str, str], account_id: str, source: Path, *, checksum: bool
) -> tuple[float, float]:
    """(seconds, CPU seconds of the uploading process) of one upload_file in a child process, of
    a spool copy of `source` (see `spool_copy`; deleted after, as the worker deletes its own)."""
    from meetstore.adapters.db.tables import Bot
    from meetstore.container import build_container

    container = build_container(settings_from_env(env))
    try:
        bot_id, copy = spool_copy(container, account_id, source)
        try:
            return _baseline_upload(moto, copy, container.settings, checksum=checksum)
        finally:
            # Gone without a trace: a live bot left behind would be handed in by the stuck-bot
            # sweeper of the worker in a later seat (extra work inside its measured upload).
            copy.unlink()
            container.spool.remove_bot(bot_id)
            with container.db.session() as s:
                s.delete(s.get(Bot, bot_id))
    finally:
        container.close()


def _baseline_upload(moto: Moto, source: Path, settings: Any, *, checksum: bool) -> tuple[float, float]:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            BASELINE,
            moto.endpoint,
            str(source),
            f"baseline/{uuid.uuid4().hex}.mp3",
            str(settings.multipart_threshold_mb),
            str(settings.multipart_chunksize_mb),
            str(settings.transfer_max_concurrency),
            "sha256" if checksum else "none",
        ],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "AWS_CA_BUNDLE": str(moto.tls)} if moto.tls is not None else None,
    ).stdout
    wall, cpu = out.strip().splitlines()[-1].split()
    return float(wall), float(cpu)


def wait_heartbeat(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        while time.monotonic() < deadline:
            row = conn.execute("SELECT count(*) FROM worker_heartbeats WHERE kind = 'upload'").fetchone()
            if row and row[0]:
                return
            time.sleep(0.05)
    raise RuntimeError("the worker did not start")


def worker_upload(
    moto: Moto, env: dict[str, str], url: str, source: Path, account_id: str, work: Path
) -> tuple[float, float, float, int]:
    """One upload through a fresh `meetstore worker`: (seconds, its CPU seconds, peak RSS MiB,
    upload attempts)."""
    from meetstore.container import build_container

    container = build_container(settings_from_env(env))
    try:
        bot_id, copy = spool_copy(container, account_id, source)
        copy.unlink()
        worker = start_worker(env, 1, log=work / "worker.log")
        try:
            wait_heartbeat(url)
            cpu_before = cpu_seconds(worker.pid)
            container.handin.left(bot_id)
            started = datetime.now(UTC)  # the rows are due (committed); the worker polls for them
            deadline = time.monotonic() + 600
            with psycopg.connect(libpq_url(url), autocommit=True) as conn:
                while True:
                    row = conn.execute(
                        "SELECT state, uploaded_at, last_error_code, attempts FROM artifacts "
                        "WHERE bot_id = %s AND kind = 'audio'",
                        (bot_id,),
                    ).fetchone()
                    if row is not None and row[0] == "uploaded":
                        seconds = (row[1] - started).total_seconds()
                        attempts = int(row[3])
                        break
                    if row is not None and row[0] == "failed":
                        raise RuntimeError(f"the upload failed: {row[2]}")
                    if worker.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("the worker stopped or timed out; see worker.log")
                    time.sleep(0.05)
            rss = vm_hwm_mb(worker.pid)
            cpu = cpu_seconds(worker.pid) - cpu_before
        finally:
            stop_process(worker)
            for line in (work / "worker.log").read_text(errors="replace").splitlines():
                if " WARNING " in line or " ERROR " in line:
                    note(f"worker log: {line[:300]}")
        head = moto.client().head_object(
            Bucket=BUCKET, Key=f"platform/accounts/{account_id}/meetstream/{bot_id}_audio.mp3"
        )
        assert head["ContentLength"] == source.stat().st_size, "the object did not land whole"
        return seconds, cpu, rss, attempts
    finally:
        container.close()


@contextlib.contextmanager
def moto_spill_dir(size_mb: int) -> Iterator[Path | None]:
    """A folder in RAM (/dev/shm) for moto's temporary files, when there is room for them.

    moto spills every object body over 1 MiB to a temporary file and writes the whole object once
    more when completing a multipart upload; on disk, how long those writes take depended on the
    disk's write-back state and swung the same upload by +-30% between runs (py-spy: moto's time
    in SpooledTemporaryFile.rollover went from 4% to 14% of its samples). In RAM the server's
    speed stops depending on the disk, for the baseline and meetstore alike.
    """
    shm = Path("/dev/shm")
    if not shm.is_dir() or shutil.disk_usage(shm).free < 3 * size_mb * MB:
        note("moto spills to the default temporary folder (/dev/shm is missing or too small)")
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="meetstore-bench-moto-", dir=shm) as folder:
        yield Path(folder)


def run(size_mb: int = 2048, rounds: int = 3) -> None:
    free = shutil.disk_usage(Path(os.environ.get("TMPDIR", "/tmp"))).free
    if free < 3 * size_mb * MB:
        raise SystemExit(f"not enough disk for a {size_mb} MiB file twice over: {free / MB:.0f} MiB free")
    with (
        temp_dir("upload") as work,
        moto_spill_dir(size_mb) as spill,
        pg_database("upload") as url,
        moto_server(tmpdir=spill) as moto,
    ):
        env = meetstore_env(
            work / "data",
            url,
            new_master_key(),
            platform_store=f"s3://{BUCKET}/platform",
            platform_s3_endpoint_url=moto.endpoint,
            platform_s3_access_key_id="testing",
            platform_s3_secret_access_key="testing",
        )
        settings = settings_from_env(env)
        from meetstore.adapters.db.migrate import upgrade
        from meetstore.container import build_container

        setup = build_container(settings)
        upgrade(setup.db)
        account_id = setup.accounts.create("bench").account_id
        setup.close()

        source = work / "source.bin"
        started = time.perf_counter()
        generate(source, size_mb)
        os.sync()
        note(f"generated {size_mb} MiB in {time.perf_counter() - started:.1f} s")
        ours: list[float] = []
        base: list[float] = []
        summed: list[float] = []
        rss: list[float] = []
        for n in range(rounds):
            order = ["plain", "sha256", "meetstore"]
            for which in order if n % 2 == 0 else order[::-1]:  # alternate: no seat is favoured
                moto.restart()
                moto.client().create_bucket(Bucket=BUCKET)
                moto_cpu = cpu_seconds(moto.proc.pid)
                if which == "meetstore":
                    seconds, cpu, peak, attempts = worker_upload(moto, env, url, source, account_id, work)
                    moto_cpu = cpu_seconds(moto.proc.pid) - moto_cpu
                    ours.append(seconds)
                    rss.append(peak)
                    note(
                        f"round {n + 1}: meetstore worker      {seconds:.2f} s ({size_mb / seconds:.0f} MiB/s), "
                        f"{cpu:.1f} s CPU (moto {moto_cpu:.1f} s), worker peak RSS {peak:.0f} MiB, "
                        f"{attempts} attempt(s)"
                    )
                    continue
                checksum = which == "sha256"
                seconds, cpu = baseline_upload(moto, env, account_id, source, checksum=checksum)
                moto_cpu = cpu_seconds(moto.proc.pid) - moto_cpu
                (summed if checksum else base).append(seconds)
                label = "upload_file + SHA-256" if checksum else "upload_file (plain) "
                note(
                    f"round {n + 1}: {label} {seconds:.2f} s ({size_mb / seconds:.0f} MiB/s), "
                    f"{cpu:.1f} s CPU (moto {moto_cpu:.1f} s)"
                )
        moto.reset()
        source.unlink()
    best_ours, best_base, best_summed = min(ours), min(base), min(summed)
    figure(
        "upload",
        best_base / best_ours,
        f"{size_mb / best_ours:.0f} MiB/s meetstore worker",
        f"{size_mb / best_base:.0f} MiB/s plain upload_file",
    )
    figure(
        "upload_same_checksum",
        best_summed / best_ours,
        f"{size_mb / best_ours:.0f} MiB/s meetstore worker",
        f"{size_mb / best_summed:.0f} MiB/s upload_file with ChecksumAlgorithm=SHA256",
    )
    figure(
        "upload_rss",
        max(rss) / RSS_LIMIT_MB,
        f"{max(rss):.0f} MiB worker peak RSS",
        f"{RSS_LIMIT_MB:g} MiB limit",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=2048)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    run(args.size_mb, args.rounds)


if __name__ == "__main__":
    main()
