"""Run the benchmarks: `make bench` (all of them) or `make bench-<name>` (one).

    .venv/bin/python -m bench.run_all [fetch|upload|validate|scale|workers ...]

Each benchmark measures its baseline in the same run and ends with one line per figure,
`<name>: <ratio> (<value> vs <baseline>)`; the lines are repeated together at the end. What each
one measures, and the figures measured on the reference machine, are in docs/performance.md.
Needs: PostgreSQL on 127.0.0.1:5432 (MEETSTORE_BENCH_PG to use another), `wrk` (installed with
apt-get when missing), `moto_server` from the venv, a few GB of free disk (upload, scale).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from bench import common

BENCHMARKS: dict[str, str] = {
    "fetch": "bench.fetch",
    "upload": "bench.upload",
    "upload_staged": "bench.upload_staged",
    "validate": "bench.validate",
    "workers": "bench.workers",
    "scale": "bench.scale",
}


def runner(name: str) -> Callable[[], None]:
    module = __import__(BENCHMARKS[name], fromlist=["run"])
    run: Callable[[], None] = module.run
    return run


def main(argv: list[str] | None = None) -> int:
    names = list(argv if argv is not None else sys.argv[1:]) or list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    print(f"machine: {common.machine()}", flush=True)
    failed: list[str] = []
    took: dict[str, float] = {}
    for name in names:
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        try:
            runner(name)()
        except Exception as exc:  # report and go on with the others
            failed.append(name)
            print(f"{name}: FAILED ({type(exc).__name__}: {exc})", flush=True)
        took[name] = time.perf_counter() - started
    print("== results", flush=True)
    print("  " + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in took.items()), flush=True)
    for line in common.RESULTS:
        print(line, flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
