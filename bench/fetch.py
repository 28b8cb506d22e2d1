"""Figure 1, fetch: `get_audio` requests/s against an authenticated no-op (`GET /api/v1/ping`) on
the same server, for bots pinned to a customer bucket (`fetch`) and to the platform store
(`fetch_platform`); against signing one URL (`fetch_vs_presign`); its p99 at 64 connections; and
how long a second API process serves after the configuration is deleted (`fetch_config_change`).

    make bench-fetch            # or: .venv/bin/python -m bench.fetch [--seconds 10] [--bots 10000]

- One API process: `meetstore serve --workers 1 --no-upload-worker` (uvicorn with httptools and
  uvloop), PostgreSQL (a database of its own on 127.0.0.1:5432, dropped afterwards).
- The customer's bucket: a moto server in this process (read_write configuration saved through
  the API; nothing on the fetch path calls it: presigned URLs are signed locally). The platform
  store: the local folder (download URLs are HMAC tokens).
- 10,000 Done bots per store bulk-loaded with COPY, ten uploaded artifact rows each; every
  get_audio request names a random one of them (a wrk Lua script), after one pass over all of
  them (what a process remembers of finished files; the steady state).
- Load: `wrk -t1 -c64` in its own process; after the warm-up, 10 s per endpoint, ping and
  get_audio alternating (`--rounds`, default 2); the better run of each is reported.
- `fetch_vs_presign`: get_audio's rate ÷ botocore's `generate_presigned_url` rate on one core,
  measured in this process in the same run.
- `fetch_config_change`: a second API process answers get_audio for a customer-bucket bot from
  memory; the configuration is deleted through the first; the time until the second refuses
  (403), against the 1 s limit.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import time
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
    free_port,
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
CHANGE_LIMIT_S = 1.0
BUCKET = "bench-customer"
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


def presign_rate(endpoint: str, bucket: str, seconds: float = 3.0) -> float:
    """URLs/s botocore signs on one core (the cost every customer-bucket fetch must pay)."""
    import boto3
    from botocore.config import Config

    client = boto3.session.Session().client(
        "s3",
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    n, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": f"meetstream/{n}_audio.mp3"}, ExpiresIn=3600)
        n += 1
    return n / (time.perf_counter() - started)


def config_change_s(env: dict[str, str], first: str, api_key: str, bot_id: str) -> float:
    """Delete the configuration through `first`; how long a second process still serves it."""
    headers = {"Authorization": f"Token {api_key}"}
    with serve(env, workers=1) as (second, _proc):
        for _ in range(3):  # answered from the second process's memory from the second call on
            ok = httpx.get(f"{second}{AUDIO_PATH.format(id=bot_id)}", headers=headers, timeout=10)
            assert ok.status_code == 200, ok.text
        resp = httpx.delete(f"{first}/api/v1/admin/configs", params={"key_name": "aws"}, headers=headers, timeout=10)
        assert resp.status_code == 200, resp.text
        deleted = time.monotonic()
        while httpx.get(f"{second}{AUDIO_PATH.format(id=bot_id)}", headers=headers, timeout=10).status_code == 200:
            if time.monotonic() - deleted > 30:
                raise AssertionError("the second process kept serving a deleted configuration")
            time.sleep(0.005)
        return time.monotonic() - deleted


def run(seconds: float = 10.0, bots: int = 10_000, connections: int = 64, rounds: int = 2) -> None:
    from moto.server import ThreadedMotoServer

    ensure_wrk()
    moto_port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=moto_port, verbose=False)
    moto.start()
    endpoint = f"http://127.0.0.1:{moto_port}"
    httpx.put(f"{endpoint}/{BUCKET}", timeout=10).raise_for_status()
    results: dict[str, Pair] = {}
    try:
        with temp_dir("fetch") as work, pg_database("fetch") as url:
            env = meetstore_env(
                work / "data",
                url,
                new_master_key(),
                rate_limit_per_minute=10**9,
                rate_limit_burst=10**9,
                allow_private_endpoints="true",
            )
            custom_account, custom_key = create_account(env)
            platform_account, platform_key = create_account(env)
            with serve(env, workers=1) as (base, proc):
                body = {
                    "provider": "aws", "bucket_name": BUCKET, "region": "us-east-1", "endpoint_url": endpoint,
                    "access_key_id": "testing", "secret_key": "testing",
                }  # fmt: skip
                saved = httpx.put(
                    f"{base}/api/v1/admin/configs", params={"config_type": "storage"}, json=body,
                    headers={"Authorization": f"Token {custom_key}"}, timeout=30,
                )  # fmt: skip
                assert saved.status_code == 200, saved.text
                version = int(saved.json()["version"])
                seeded = {
                    "fetch": (custom_key, copy_done_bots(
                        url, custom_account, bots, files_per_bot=10, pin_bucket=BUCKET, pin_region="us-east-1",
                        custom=(endpoint, version),
                    )),
                    "fetch_platform": (platform_key, copy_done_bots(url, platform_account, bots, files_per_bot=10)),
                }  # fmt: skip
                note(
                    f"PostgreSQL, {bots:,} bots with ten artifact rows each per store, loaded with COPY; "
                    f"1 API process; wrk -t1 -c{connections}, {seconds:g} s per run"
                )
                for label, (key, loaded) in seeded.items():
                    preflight(base, key, loaded.bot_ids[0])
                    note(f"{label}: bots pinned to {'a customer bucket (moto)' if label == 'fetch' else 'the platform store'}")
                    results[label] = measure(
                        base, key, loaded.bot_ids, seconds=seconds, connections=connections, rounds=rounds,
                        work=work, server_pid=proc.pid, url=url, warm_all=True,
                    )  # fmt: skip
                presign = presign_rate(endpoint, BUCKET)
                change = config_change_s(env, base, custom_key, seeded["fetch"][1].bot_ids[0])
    finally:
        moto.stop()
    for label, pair in results.items():
        if pair.ping.errors or pair.audio.errors:
            note(f"{label} errors: ping {pair.ping.errors}, get_audio {pair.audio.errors}")
        figure(
            label,
            pair.audio.rps / pair.ping.rps,
            f"{pair.audio.rps:,.0f} req/s get_audio",
            f"{pair.ping.rps:,.0f} req/s ping",
        )
    custom = results["fetch"].audio
    figure("fetch_vs_presign", custom.rps / presign, f"{custom.rps:,.0f} req/s get_audio", f"{presign:,.0f} URLs/s signed on one core")
    figure(
        "fetch_p99",
        custom.p99_ms / P99_LIMIT_MS,
        f"{custom.p99_ms:.1f} ms get_audio p99 at {connections} connections",
        f"{P99_LIMIT_MS:g} ms limit",
    )
    figure("fetch_config_change", change / CHANGE_LIMIT_S, f"{change:.2f} s until refused", f"{CHANGE_LIMIT_S:g} s limit")


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
