"""Figure 3, validate: write_only validation of a storage configuration with 5 distinct prefixes
(one probe PutObject under each, concurrently) against the time of one probe write.

    make bench-validate         # or: .venv/bin/python -m bench.validate [--repeats 60] [--rtt-ms 20]

- moto as its own process (IAM checks off), a bucket, a write_only target with five distinct
  effective prefixes. Measured interleaved, `--repeats` times each, medians reported:
  `validate_storage(write_only, 5 prefixes)` — what PUT /admin/configs runs before saving: a fresh
  client with the request's credentials, then the five probes at once — against the same with
  1 prefix (one probe write as validation makes it), and one PutObject on a warm client.
- Twice: through `bench/latency_proxy.py` adding `--rtt-ms` (20 ms) of round-trip latency, as a
  network to S3 has (figure `validate`); and straight to moto on loopback (`validate_loopback`),
  where a probe costs moto a few milliseconds of CPU in one Python process, so five of them take
  five times as long however concurrent they are: there is no waiting to overlap.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable

from pydantic import SecretStr

from bench.common import figure, free_port, median, moto_server, note, stop_process, wait_http

BUCKET = "bench-validate"
PREFIXES = ["meetstream", "media/audio", "media/video", "text/transcripts", "meta/data"]
LIMIT = 1.5


def measure(endpoint: str, repeats: int) -> dict[str, float]:
    """Median milliseconds of: validation with 5 prefixes, with 1, and one PutObject on a warm client."""
    from meetstore.adapters.crypto.envelope import EnvelopeBox, LocalKeyProvider
    from meetstore.adapters.s3.bucket import S3Bucket
    from meetstore.adapters.s3.clients import S3ClientFactory
    from meetstore.adapters.s3.validation import PROBE_BODY, validate_storage
    from meetstore.domain.storage_config import AccessMode, probe_key
    from meetstore.domain.storage_target import PlainCredentials, S3Target

    factory = S3ClientFactory(EnvelopeBox(LocalKeyProvider(os.urandom(32))))
    target = S3Target(
        cache_key=("bench", 1),
        bucket=BUCKET,
        region="us-east-1",
        endpoint_url=endpoint,
        credentials=PlainCredentials(SecretStr("testing"), SecretStr("testing")),
    )
    warm = S3Bucket(factory.one_off_client(target, timeout_s=10), BUCKET, region="us-east-1")

    def five() -> None:
        checks = validate_storage(factory, target, AccessMode.WRITE_ONLY, PREFIXES, timeout_s=10)
        assert len(checks) == 5 and all(c.ok for c in checks)

    def one() -> None:
        checks = validate_storage(factory, target, AccessMode.WRITE_ONLY, PREFIXES[:1], timeout_s=10)
        assert len(checks) == 1 and checks[0].ok

    def bare() -> None:
        warm.put_bytes(probe_key(PREFIXES[0], os.urandom(8).hex()), PROBE_BODY, content_type="text/plain")

    cases: dict[str, Callable[[], None]] = {"five": five, "one": one, "bare": bare}
    times: dict[str, list[float]] = {name: [] for name in cases}
    for fn in cases.values():  # warm-up: the session's loaders, the probe threads, moto
        for _ in range(5):
            fn()
    for _ in range(repeats):
        for name, fn in cases.items():
            started = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - started)
    return {name: median(values) * 1000 for name, values in times.items()}


def run(repeats: int = 60, rtt_ms: float = 20.0) -> None:
    results: dict[str, dict[str, float]] = {}
    with moto_server() as moto:
        moto.client().create_bucket(Bucket=BUCKET)
        results["loopback"] = measure(moto.endpoint, repeats)
        port = free_port()
        proxy = subprocess.Popen(
            [sys.executable, "-m", "bench.latency_proxy", str(port), str(moto.port), str(rtt_ms / 2)]
        )
        try:
            wait_http(f"http://127.0.0.1:{port}/moto-api/", proc=proxy)
            results["latency"] = measure(f"http://127.0.0.1:{port}", repeats)
        finally:
            stop_process(proxy)
        moto.reset()
    for label, med in results.items():
        where = (
            "moto on loopback" if label == "loopback" else f"moto behind {rtt_ms:g} ms of round-trip latency"
        )
        note(
            f"{where}, medians of {repeats}: 5 prefixes {med['five']:.1f} ms, 1 prefix {med['one']:.1f} ms, "
            f"one PutObject on a warm client {med['bare']:.1f} ms"
        )
    lat, loop = results["latency"], results["loopback"]
    figure(
        "validate",
        lat["five"] / lat["one"],
        f"{lat['five']:.1f} ms write_only validation with 5 prefixes",
        f"{lat['one']:.1f} ms with 1 prefix (one probe write), {rtt_ms:g} ms RTT",
    )
    figure(
        "validate_loopback",
        loop["five"] / loop["one"],
        f"{loop['five']:.1f} ms write_only validation with 5 prefixes",
        f"{loop['one']:.1f} ms with 1 prefix, moto on loopback",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeats", type=int, default=60)
    parser.add_argument("--rtt-ms", type=float, default=20.0)
    args = parser.parse_args()
    run(args.repeats, args.rtt_ms)


if __name__ == "__main__":
    main()
