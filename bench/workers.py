"""Figure 5, workers: end-to-end artifacts/s through the upload outbox with 4 `meetstore worker`
processes on PostgreSQL against 1, with every upload counted (zero duplicated, zero lost).

    make bench-workers          # or: .venv/bin/python -m bench.workers [--bots 150] [--delay-ms 100]

- PostgreSQL (a database of its own, dropped afterwards). The platform store is an S3 endpoint that
  is deliberately slow and never the bottleneck: `bench/slow_s3.py`, its own process, answers each
  PutObject after `--delay-ms` (asyncio: waiting costs no CPU) and counts the writes of every key.
  meetstore reaches it like any S3 (`MEETSTORE_PLATFORM_STORE=s3://...`,
  `MEETSTORE_PLATFORM_S3_ENDPOINT_URL`); no production code knows about it.
- The spool is a staging bucket on the same server (`MEETSTORE_SPOOL=s3://staging/spool`: the
  workers share no folder, as at scale; `--local-spool` for one folder instead): each upload first
  reads its pointer and its sealed object there (ranged GETs, no wait).
- Per run: `--bots` bots, each with three recorded files, leave through the ingest service (pin,
  manifest, four artifact rows each: the real path). The rows are held back (next_attempt_at in
  the future) while the workers start (`meetstore worker --concurrency 2`, each); once every worker
  has a heartbeat they are released at once, and the clock runs until every row is `uploaded`.
- Then the counts: each artifact's key written exactly once at the store, every row uploaded with
  attempts = 1. Duplicates and losses are reported (and must be zero).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg

from bench.common import (
    figure,
    free_port,
    libpq_url,
    meetstore_env,
    new_master_key,
    note,
    pg_database,
    recording_bot,
    settings_from_env,
    start_worker,
    stop_process,
    temp_dir,
    wait_http,
)

BUCKET = "bench-workers"
FILES = {
    "audio.mp3": b"ID3" + b"\x01" * 2045,
    "chat.json": b'[{"sender": "Alice", "message": "hi", "time_s": 0.5}]',
    "screenshots/00001.png": b"\x89PNG\r\n\x1a\n" + b"\x02" * 1016,
}


@dataclass(frozen=True)
class Run:
    workers: int
    artifacts: int
    seconds: float
    duplicated: int
    duplicated_keys: int
    lost: int
    retried: int
    cpu_note: str

    @property
    def rate(self) -> float:
        return self.artifacts / self.seconds


def seed(container: Any, account_id: str, bots: int) -> list[str]:
    ids: list[str] = []
    now = datetime.now(UTC)
    with container.db.session() as s:
        for _ in range(bots):
            bot = recording_bot(account_id, now)
            ids.append(bot.id)
            s.add(bot)
    for bot_id in ids:
        for name, data in FILES.items():
            container.ingest.save_file(bot_id, name, [data])
        container.handin.left(bot_id)
    return ids


def one_run(
    env: dict[str, str],
    url: str,
    sink: str,
    container: Any,
    account_id: str,
    workers: int,
    bots: int,
    concurrency: int,
    work: Path,
) -> Run:
    httpx.post(f"{sink}/_reset", timeout=10)
    ids = seed(container, account_id, bots)
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute(
            "UPDATE artifacts SET next_attempt_at = now() + interval '1 hour' WHERE bot_id = ANY(%s)", (ids,)
        )
        expected = {
            str(k) for (k,) in conn.execute("SELECT key FROM artifacts WHERE bot_id = ANY(%s)", (ids,))
        }
        started_at = datetime.now(UTC)
        procs = [
            start_worker(env, concurrency, log=work / f"worker-{workers}-{n}.log") for n in range(workers)
        ]
        try:
            deadline = time.monotonic() + 120
            while True:
                row = conn.execute(
                    "SELECT count(*) FROM worker_heartbeats WHERE kind = 'upload' AND seen_at >= %s",
                    (started_at,),
                ).fetchone()
                if row and row[0] >= workers:
                    break
                if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                    raise RuntimeError("the workers did not start; see the worker logs")
                time.sleep(0.05)
            cpu_before = [_cpu(p.pid) for p in procs]
            t0 = time.perf_counter()
            conn.execute("UPDATE artifacts SET next_attempt_at = now() WHERE bot_id = ANY(%s)", (ids,))
            deadline = time.monotonic() + 600
            while True:
                row = conn.execute(
                    "SELECT count(*) FILTER (WHERE state = 'uploaded'), count(*) FILTER (WHERE state = 'failed') "
                    "FROM artifacts WHERE bot_id = ANY(%s)",
                    (ids,),
                ).fetchone()
                assert row is not None
                if row[0] + row[1] >= len(expected):
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"timed out with {row[0]} of {len(expected)} uploaded")
                time.sleep(0.02)
            seconds = time.perf_counter() - t0
            cpu = sum(_cpu(p.pid) - b for p, b in zip(procs, cpu_before, strict=True))
        finally:
            for p in procs:
                stop_process(p)
        rows = conn.execute("SELECT state, attempts FROM artifacts WHERE bot_id = ANY(%s)", (ids,)).fetchall()
    counts: dict[str, int] = json.loads(httpx.get(f"{sink}/_counts", timeout=10).text)
    written = {path.split("/", 2)[2]: n for path, n in counts.items() if path.startswith(f"/{BUCKET}/")}
    duplicated = sum(max(0, written.get(k, 0) - 1) for k in expected) + sum(
        n for k, n in written.items() if k not in expected
    )
    duplicated_keys = sum(1 for k in expected if written.get(k, 0) > 1)
    lost = sum(1 for k in expected if written.get(k, 0) == 0) + sum(1 for s, _ in rows if s != "uploaded")
    retried = sum(1 for _, attempts in rows if attempts != 1)
    return Run(
        workers,
        len(expected),
        seconds,
        duplicated,
        duplicated_keys,
        lost,
        retried,
        f"{1000 * cpu / len(expected):.1f} ms worker CPU per artifact",
    )


def _cpu(pid: int) -> float:
    from bench.common import cpu_seconds

    return cpu_seconds(pid)


def run(bots: int = 150, delay_ms: float = 100.0, concurrency: int = 2, many: int = 4, staged: bool = True) -> None:
    with temp_dir("workers") as work, pg_database("workers") as url:
        port = free_port()
        sink = f"http://127.0.0.1:{port}"
        sink_proc = subprocess.Popen([sys.executable, "-m", "bench.slow_s3", str(port), str(delay_ms)])
        try:
            wait_http(f"{sink}/_counts", proc=sink_proc)
            env = meetstore_env(
                work / "data",
                url,
                new_master_key(),
                platform_store=f"s3://{BUCKET}/platform",
                platform_s3_endpoint_url=sink,
                platform_s3_access_key_id="bench",
                platform_s3_secret_access_key="bench",
                **(
                    {
                        "spool": "s3://staging/spool",
                        "spool_s3_endpoint_url": sink,
                        "spool_s3_access_key_id": "bench",
                        "spool_s3_secret_access_key": "bench",
                    }
                    if staged
                    else {}
                ),
            )
            from meetstore.adapters.db.migrate import upgrade
            from meetstore.container import build_container

            container = build_container(settings_from_env(env))
            try:
                upgrade(container.db)
                account_id = container.accounts.create("bench").account_id
                results = {}
                for n in (1, many):
                    r = one_run(env, url, sink, container, account_id, n, bots, concurrency, work)
                    results[n] = r
                    note(
                        f"{n} worker(s) x {concurrency} upload threads: {r.artifacts} artifacts in "
                        f"{r.seconds:.2f} s = {r.rate:.1f}/s; duplicated {r.duplicated}, lost {r.lost}, "
                        f"retried {r.retried}; {r.cpu_note}"
                    )
            finally:
                container.close()
        finally:
            stop_process(sink_proc)
    one, four = results[1], results[many]
    note(f"store delay {delay_ms:g} ms per PutObject (bench/slow_s3.py); spool: {'staging on the same server' if staged else 'local folder'}")
    figure(
        "workers",
        four.rate / one.rate,
        f"{four.rate:.1f} artifacts/s with {many} workers",
        f"{one.rate:.1f} artifacts/s with 1",
    )
    total = one.artifacts + four.artifacts
    once = total - sum(r.duplicated_keys + r.lost for r in (one, four))
    figure(
        "workers_exactly_once",
        once / total,
        f"{once} artifacts written exactly once; {one.duplicated + four.duplicated} duplicate writes, "
        f"{one.lost + four.lost} lost",
        f"{total} artifacts",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--bots", type=int, default=150)
    parser.add_argument("--delay-ms", type=float, default=100.0)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--local-spool", action="store_true", help="a spool folder shared by every worker")
    args = parser.parse_args()
    run(args.bots, args.delay_ms, args.concurrency, args.workers, staged=not args.local_spool)


if __name__ == "__main__":
    main()
