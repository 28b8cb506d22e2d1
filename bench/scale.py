"""Figure 4, scale: `get_audio` p50 and p99 latency with 1,000,000 bots and 10,000,000 artifact rows
in PostgreSQL against the same with 1,000 bots; and the query plans of the fetch queries.

    make bench-scale            # or: .venv/bin/python -m bench.scale [--bots 1000000] [--small 1000]

- Two databases of their own on 127.0.0.1:5432 (dropped afterwards), bulk-loaded with COPY
  (psycopg): Done bots pinned to the platform store, ten uploaded artifact rows each. The load drops
  the secondary indexes and constraints of `bots` and `artifacts` first and builds them again
  after, then VACUUM ANALYZE — as a bulk load does; the schema afterwards is the migration's.
- The fetch queries, captured from the service itself, are shown with EXPLAIN (ANALYZE, BUFFERS) on
  the large database: each must be an index scan.
- One API process per database with MEETSTORE_FETCH_CACHE_ENTRIES=0 (every request reads
  PostgreSQL); `wrk -t1 -c4` for `--seconds` per run after a 3 s warm-up, random bots (all 1,000
  of the small set, a 20,000 sample spread over the whole large set), small and large alternating
  (`--rounds`, default 3); the medians of the runs' p50 and p99 are compared.
"""

from __future__ import annotations

import argparse
import contextlib
import re
import time
from typing import Any

import psycopg

from bench.common import (
    WrkResult,
    copy_done_bots,
    ensure_wrk,
    figure,
    libpq_url,
    median,
    meetstore_env,
    new_master_key,
    note,
    pg_database,
    run_wrk,
    serve,
    settings_from_env,
    temp_dir,
)
from bench.fetch import AUDIO_PATH, create_account, preflight


def capture_fetch_queries(env: dict[str, str], account_id: str, bot_id: str) -> list[tuple[str, Any]]:
    """The SELECTs the fetch service runs for a bot (and authentication), with their parameters."""
    from sqlalchemy import event

    from meetstore.adapters.db.tables import Bot
    from meetstore.container import build_container
    from meetstore.errors import MeetstoreError

    settings = settings_from_env(
        {**env, "MEETSTORE_FETCH_CACHE_ENTRIES": "0", "MEETSTORE_AUTH_CACHE_TTL_S": "0"}
    )
    container = build_container(settings)
    seen: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, params: Any, _context: Any, _many: bool) -> None:
        if "FROM" in statement.split() and all(statement != s for s, _ in seen):
            seen.append((statement, params))

    try:
        with container.db.session() as s:
            bot = s.get(Bot, bot_id)
            assert bot is not None
            transcript_id = bot.transcript_id
        event.listen(container.db.engine, "before_cursor_execute", capture)
        fetch = container.fetch
        for call in (
            lambda: fetch.audio(account_id, bot_id),
            lambda: fetch.screenshots(account_id, bot_id, limit=2),
            lambda: fetch.audio_streams(account_id, bot_id),
            lambda: fetch.transcriptions(account_id, bot_id),
            lambda: fetch.transcript(account_id, transcript_id),
        ):
            with contextlib.suppress(MeetstoreError, OSError):  # e.g. no transcript file: the queries ran
                call()
    finally:
        container.close()
    return seen


def explain(url: str, queries: list[tuple[str, Any]]) -> list[str]:
    """EXPLAIN (ANALYZE, BUFFERS) of each query; the query shown with its column list elided."""
    out: list[str] = []
    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        for statement, params in queries:
            rows = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS, TIMING OFF) {statement}", params).fetchall()
            shown = re.sub(r"^SELECT .*? FROM ", "SELECT ... FROM ", " ".join(statement.split()), count=1)
            out.append(re.sub(r"::(VARCHAR|INTEGER)", "", shown))
            out.extend(f"    {row[0]}" for row in rows)
    return out


def run(
    bots: int = 1_000_000, small: int = 1_000, seconds: float = 10.0, connections: int = 4, rounds: int = 3
) -> None:
    ensure_wrk()
    started = time.perf_counter()
    with (
        temp_dir("scale") as work,
        pg_database("scale_small") as small_url,
        pg_database("scale_large") as large_url,
    ):
        key = new_master_key()
        envs: dict[str, dict[str, str]] = {}
        keys: dict[str, str] = {}
        ids: dict[str, list[str]] = {}
        accounts: dict[str, str] = {}
        for label, url, n in (("small", small_url, small), ("large", large_url, bots)):
            env = meetstore_env(
                work / f"data-{label}",
                url,
                key,
                rate_limit_per_minute=10**9,
                rate_limit_burst=10**9,
                fetch_cache_entries=0,
            )
            account_id, api_key = create_account(env)
            seeded = copy_done_bots(url, account_id, n, files_per_bot=10, drop_indexes=True)
            with psycopg.connect(libpq_url(url)) as conn:
                size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()
            note(
                f"{label}: {seeded.bots:,} bots, {seeded.artifacts:,} artifact rows loaded with COPY "
                f"(indexes rebuilt, analysed) in {seeded.seconds:.0f} s; database {size[0] if size else '?'}"
            )
            envs[label], keys[label], ids[label], accounts[label] = env, api_key, seeded.bot_ids, account_id

        note("query plans on the large database (EXPLAIN ANALYZE, BUFFERS):")
        queries = capture_fetch_queries(envs["large"], accounts["large"], ids["large"][0])
        for line in explain(large_url, queries):
            print(f"    {line}", flush=True)

        runs: dict[str, list[WrkResult]] = {"small": [], "large": []}
        for _round in range(rounds):
            for label in ("small", "large"):
                with serve(envs[label], workers=1) as (base, _proc):
                    preflight(base, keys[label], ids[label][0])
                    run_wrk(  # warm-up
                        base,
                        AUDIO_PATH,
                        keys[label],
                        ids=ids[label],
                        connections=connections,
                        duration_s=3,
                        workdir=work,
                    )
                    result = run_wrk(
                        base,
                        AUDIO_PATH,
                        keys[label],
                        ids=ids[label],
                        connections=connections,
                        duration_s=seconds,
                        workdir=work,
                    )
                note(f"{label}: {result.describe()}")
                runs[label].append(result)
    note(f"scale benchmark took {time.perf_counter() - started:.0f} s in all (loading included)")
    for q in ("p50", "p99"):
        lg = median([getattr(r, f"{q}_ms") for r in runs["large"]])
        sm = median([getattr(r, f"{q}_ms") for r in runs["small"]])
        figure(
            f"scale_{q}",
            lg / sm,
            f"{lg:.2f} ms get_audio {q} with {bots:,} bots",
            f"{sm:.2f} ms with {small:,} bots (medians of {rounds} runs)",
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--bots", type=int, default=1_000_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    run(args.bots, args.small, args.seconds, args.connections, args.rounds)


if __name__ == "__main__":
    main()
