"""Figure 1, fetch: `get_audio` requests/s against an authenticated no-op (`GET /api/v1/ping`) on
the same server, and get_audio's p99 latency at 64 connections.

    make bench-fetch            # or: .venv/bin/python -m bench.fetch [--seconds 10] [--bots 10000]

- One API process: `meetstore serve --workers 1 --no-upload-worker` (uvicorn with httptools and
  uvloop), PostgreSQL (a database of its own on 127.0.0.1:5432, dropped afterwards), the local
  platform store (download URLs are HMAC tokens: no network).
- 10,000 Done bots bulk-loaded with COPY, ten uploaded artifact rows each; every get_audio request
  names a random one of them (a wrk Lua script).
- Load: `wrk -t1 -c64` in its own process; after the warm-up, 10 s per endpoint, ping and
  get_audio alternating (`--rounds`, default 2); the better run of each is reported.
- Twice: with the default settings (API-key cache, and the cache of finished platform-store file
  locations, warmed by one pass over all bots: figure `fetch`), then with
  MEETSTORE_FETCH_CACHE_ENTRIES=0, so that every get_audio reads PostgreSQL (`fetch_uncached`).
"""

from __future__ import annotations

import argparse
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg

from bench.common import (
    VENV_BIN,
    WrkResult,
    copy_done_bots,
    cpu_seconds,
    ensure_wrk,
    figure,
    libpq_url,
    meetstore_env,
    new_master_key,
    note,
    pg_database,
    run_wrk,
    serve,
    temp_dir,
)

P99_LIMIT_MS = 25.0
AUDIO_PATH = "/api/v1/bots/{id}/get_audio"
PING_PATH = "/api/v1/ping"


def create_account(env: dict[str, str]) -> tuple[str, str]:
    """`meetstore migrate` and `meetstore accounts create --json`: (account id, API key)."""
    subprocess.run([str(VENV_BIN / "meetstore"), "migrate"], env=env, check=True, capture_output=True)
    out = subprocess.run(
        [str(VENV_BIN / "meetstore"), "accounts", "create", "--name", "bench", "--json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    doc = json.loads(out.strip().splitlines()[-1])
    return str(doc["account_id"]), str(doc["api_key"])


def preflight(base: str, api_key: str, bot_id: str) -> None:
    headers = {"Authorization": f"Token {api_key}"}
    audio = httpx.get(f"{base}{AUDIO_PATH.format(id=bot_id)}", headers=headers, timeout=10)
    assert audio.status_code == 200 and "audio_url" in audio.json(), (audio.status_code, audio.text)
    ping = httpx.get(f"{base}{PING_PATH}", headers=headers, timeout=10)
    assert ping.status_code == 200, (ping.status_code, ping.text)


def pg_sessions(url: str) -> int:
    """Connections ever opened to the database (pg_stat_database.sessions): pool churn shows here."""
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        row = conn.execute(
            "SELECT sessions FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
    return int(row[0]) if row else 0


@dataclass(frozen=True)
class Pair:
    ping: WrkResult
    audio: WrkResult


def measure(
    base: str,
    api_key: str,
    ids: list[str],
    *,
    seconds: float,
    connections: int,
    rounds: int,
    work: Path,
    server_pid: int,
    url: str,
    warm_all: bool,
) -> Pair:
    def load(path: str, duration: float, *, quiet: bool = False, sequential: bool = False) -> WrkResult:
        cpu_before, sessions_before = cpu_seconds(server_pid), pg_sessions(url)
        result = run_wrk(
            base,
            path,
            api_key,
            ids=ids if "{id}" in path else (),
            connections=connections,
            duration_s=duration,
            workdir=work,
            sequential=sequential,
        )
        cpu = cpu_seconds(server_pid) - cpu_before
        opened = pg_sessions(url) - sessions_before - 1
        if not quiet:
            name = "ping     " if path == PING_PATH else "get_audio"
            note(
                f"{name} {result.describe()}; server CPU {1e6 * cpu / max(1, result.requests):.0f} us/request, "
                f"{opened} database connections opened"
            )
        return result

    if warm_all:
        load(AUDIO_PATH, 120, quiet=True, sequential=True)  # one pass over every bot
    load(PING_PATH, 3, quiet=True)
    load(AUDIO_PATH, 3, quiet=True)
    pings: list[WrkResult] = []
    audios: list[WrkResult] = []
    for _ in range(rounds):
        pings.append(load(PING_PATH, seconds))
        audios.append(load(AUDIO_PATH, seconds))
    return Pair(max(pings, key=lambda r: r.rps), max(audios, key=lambda r: r.rps))


def run(seconds: float = 10.0, bots: int = 10_000, connections: int = 64, rounds: int = 2) -> None:
    ensure_wrk()
    results: dict[str, Pair] = {}
    with temp_dir("fetch") as work, pg_database("fetch") as url:
        env = meetstore_env(
            work / "data",
            url,
            new_master_key(),
            rate_limit_per_minute=10**9,
            rate_limit_burst=10**9,
        )
        account_id, api_key = create_account(env)
        seeded = copy_done_bots(url, account_id, bots, files_per_bot=10)
        note(
            f"PostgreSQL, {seeded.bots:,} bots and {seeded.artifacts:,} artifact rows loaded with COPY "
            f"in {seeded.seconds:.1f} s; 1 API process; wrk -t1 -c{connections}, {seconds:g} s per run"
        )
        for label, extra in (("fetch", {}), ("fetch_uncached", {"MEETSTORE_FETCH_CACHE_ENTRIES": "0"})):
            note(f"{label}: " + (", ".join(f"{k}={v}" for k, v in extra.items()) or "default settings"))
            with serve({**env, **extra}, workers=1) as (base, proc):
                preflight(base, api_key, seeded.bot_ids[0])
                results[label] = measure(
                    base,
                    api_key,
                    seeded.bot_ids,
                    seconds=seconds,
                    connections=connections,
                    rounds=rounds,
                    work=work,
                    server_pid=proc.pid,
                    url=url,
                    warm_all=label == "fetch",
                )
    for label, pair in results.items():
        if pair.ping.errors or pair.audio.errors:
            note(f"{label} errors: ping {pair.ping.errors}, get_audio {pair.audio.errors}")
        figure(
            label,
            pair.audio.rps / pair.ping.rps,
            f"{pair.audio.rps:,.0f} req/s get_audio",
            f"{pair.ping.rps:,.0f} req/s ping",
        )
        figure(
            f"{label}_p99",
            pair.audio.p99_ms / P99_LIMIT_MS,
            f"{pair.audio.p99_ms:.1f} ms get_audio p99 at {connections} connections",
            f"{P99_LIMIT_MS:g} ms limit",
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--bots", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    run(args.seconds, args.bots, args.connections, args.rounds)


if __name__ == "__main__":
    main()
