"""Upload throughput of one big file: meetstore's pipeline against plain boto3, same process.

    .venv/bin/python -m bench.upload_throughput [--size-mb 200] [--rounds 3]

Starts `moto_server` as its own process (so the S3 server does not share this process's GIL).
Each round spools one random file for a new bot through the ingest service and times:
- meetstore: `UploadWorker.run_once()` until idle (claim, stream to S3, record the outcome);
- baseline: boto3 `upload_file` of the same bytes with the same TransferConfig and checksum.
The two alternate, objects are deleted between rounds, and the best round of each is reported
with their ratio, plus how much the process's peak RSS grew during the first meetstore upload
(it stays near `transfer_max_concurrency x multipart_chunksize`, whatever the file size).
"""

from __future__ import annotations

import argparse
import base64
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import httpx
from botocore.config import Config
from pydantic import SecretStr

from meetstore.adapters.db.migrate import upgrade
from meetstore.adapters.db.tables import Bot
from meetstore.adapters.s3.upload import transfer_config
from meetstore.config import Settings
from meetstore.container import Container, build_container
from meetstore.worker.uploads import UploadWorker

MB = 1024 * 1024
BUCKET = "bench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def start_moto(port: int) -> subprocess.Popen[bytes]:
    moto_bin = Path(sys.executable).with_name("moto_server")
    proc = subprocess.Popen(
        [str(moto_bin), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/moto-api/", timeout=1)
            return proc
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.1)


def new_bot(container: Container, account_id: str) -> str:
    now = datetime.now(UTC)
    bot_id = str(uuid.uuid4())
    with container.db.session() as s:
        s.add(
            Bot(
                id=bot_id,
                account_id=account_id,
                transcript_id=str(uuid.uuid4()),
                meeting_link="https://meet.example.com/bench",
                bot_name="bench",
                status="Recording",
                options={},
                created_at=now,
                updated_at=now,
            )
        )
    return bot_id


def empty_bucket(s3: Any) -> None:
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for obj in page.get("Contents", []):
            s3.delete_object(Bucket=BUCKET, Key=obj["Key"])


def main() -> None:
    parser = argparse.ArgumentParser(description="Upload throughput: meetstore vs boto3 upload_file")
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    size = args.size_mb * MB

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    server = start_moto(port)
    tmp = Path(tempfile.mkdtemp(prefix="meetstore-bench-"))
    try:
        s3 = boto3.session.Session().client(
            "s3",
            region_name="us-east-1",
            endpoint_url=endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )
        s3.create_bucket(Bucket=BUCKET)
        settings = Settings(
            data_dir=tmp / "data",
            master_key=SecretStr(base64.b64encode(os.urandom(32)).decode()),
            platform_store=f"s3://{BUCKET}/platform",
            platform_s3_endpoint_url=endpoint,
            platform_s3_access_key_id=SecretStr("testing"),
            platform_s3_secret_access_key=SecretStr("testing"),
            upload_worker=False,
        )
        container = build_container(settings)
        upgrade(container.db)
        account_id = container.accounts.create("bench").account_id
        config = transfer_config(
            settings.multipart_threshold_mb,
            settings.multipart_chunksize_mb,
            settings.transfer_max_concurrency,
        )
        source = tmp / "source.bin"
        with source.open("wb") as fh:
            for _ in range(args.size_mb):
                fh.write(os.urandom(MB))

        ours: list[float] = []
        baseline: list[float] = []
        rss_growth = 0.0
        worker = UploadWorker(container.uploads, settings, 1)
        for n in range(args.rounds):
            bot_id = new_bot(container, account_id)
            with source.open("rb") as fh:
                container.ingest.save_file(bot_id, "audio.mp3", fh)
            container.ingest.left(bot_id)
            rss_before = peak_rss_mb()
            started = time.perf_counter()
            while worker.run_once():
                pass
            ours.append(time.perf_counter() - started)
            if n == 0:
                rss_growth = peak_rss_mb() - rss_before
            key = f"platform/accounts/{account_id}/meetstream/{bot_id}_audio.mp3"
            assert s3.head_object(Bucket=BUCKET, Key=key)["ContentLength"] == size, "did not land whole"

            started = time.perf_counter()
            s3.upload_file(
                str(source),
                BUCKET,
                f"baseline/{n}.mp3",
                ExtraArgs={"ContentType": "audio/mpeg", "ChecksumAlgorithm": "SHA256"},
                Config=config,
            )
            baseline.append(time.perf_counter() - started)
            empty_bucket(s3)
        container.close()

        mb = size / MB
        best_ours, best_base = min(ours), min(baseline)
        print(
            f"file {mb:.0f} MB, best of {args.rounds}; threshold {settings.multipart_threshold_mb} MB, "
            f"chunks {settings.multipart_chunksize_mb} MB, {settings.transfer_max_concurrency} parts in flight"
        )
        print(f"baseline boto3 upload_file : {best_base:6.2f} s  {mb / best_base:6.1f} MB/s")
        print(
            f"meetstore upload worker    : {best_ours:6.2f} s  {mb / best_ours:6.1f} MB/s  "
            f"(ratio {best_base / best_ours:.2f} of baseline)"
        )
        print(f"peak RSS growth during the first meetstore upload: {max(0.0, rss_growth):.0f} MB")
    finally:
        server.terminate()
        server.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
