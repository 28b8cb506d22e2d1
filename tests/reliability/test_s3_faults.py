"""S3 faults: a fault-injecting proxy between meetstore and moto (tests/support/fault_proxy.py).

With 30% of the S3 requests answered 503 SlowDown, 500 InternalError, reset, or stalled for 30 s,
every artifact of several bots still lands byte-identical: botocore retries each request
(`s3_max_attempts`, standard mode), a stall is cut by the read timeout (`s3_read_timeout_s`) and
retried, and an upload attempt that still fails is rescheduled with backoff
(`upload_max_attempts`). No worker hangs: the whole run ends within a bound.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError, ReadTimeoutError

from .conftest import HashingChunks, configure_custom, object_sha256, open_multipart_uploads
from support.fault_proxy import FaultProxy
from support.moto_s3 import MotoS3
from support.pipeline import artifacts, events, pinned_bot, wait_done
from support.servers import RunningServer

MB = 1024 * 1024
READ_TIMEOUT_S = 2.0


@pytest.fixture
def proxy(moto: MotoS3) -> Iterator[FaultProxy]:
    p = FaultProxy(moto.port, rate=0.0, seed=1234)
    p.start()
    yield p
    p.stop()


def direct_client(endpoint: str, keys: tuple[str, str]) -> Any:
    """A client that never retries: it shows exactly what the proxy answered."""
    return boto3.session.Session().client(
        "s3",
        region_name="us-east-1",
        endpoint_url=endpoint,
        aws_access_key_id=keys[0],
        aws_secret_access_key=keys[1],
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"total_max_attempts": 1, "mode": "standard"},
            connect_timeout=2,
            read_timeout=READ_TIMEOUT_S,
        ),
    )


def test_the_proxy_forwards_signed_requests_and_injects_each_fault(moto: MotoS3) -> None:
    """The proxy itself: SigV4 requests pass unchanged; each fault is what a client sees."""
    bucket = moto.make_bucket()
    with FaultProxy(moto.port, rate=0.0) as p:
        s3 = direct_client(p.url, moto.admin_keys)
        s3.put_object(Bucket=bucket, Key="k", Body=b"through the proxy")
        assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"through the proxy"
        assert p.stats.forwarded == 2 and p.stats.injected == 0

        expected: dict[str, tuple[type[Exception], str | None]] = {
            "slowdown": (ClientError, "SlowDown"),
            "internal": (ClientError, "InternalError"),
            "reset": (ConnectionClosedError, None),
            "stall": (ReadTimeoutError, None),
        }
        for kind, (exc_type, code) in expected.items():
            p.kinds = (kind,)
            p.set_rate(1.0)
            started = time.monotonic()
            with pytest.raises((exc_type, EndpointConnectionError)) as info:
                s3.put_object(Bucket=bucket, Key=f"fault-{kind}", Body=os.urandom(1000))
            assert isinstance(info.value, exc_type), (kind, info.value)
            if code is not None:
                assert isinstance(info.value, ClientError)
                assert info.value.response["Error"]["Code"] == code
            assert time.monotonic() - started < READ_TIMEOUT_S + 3  # a stall is cut by the timeout
            p.set_rate(0.0)
        assert dict(p.stats.faults) == {"slowdown": 1, "internal": 1, "reset": 1, "stall": 1}
        assert "fault-slowdown" not in moto.keys(bucket)  # nothing was forwarded on a fault


def run_under_faults(
    make_server: Callable[..., RunningServer],
    moto: MotoS3,
    proxy: FaultProxy,
    *,
    bots: int,
    audio_mb: list[int],
    bound_s: float,
) -> dict[str, Any]:
    server = make_server(
        "sqlite",
        s3_read_timeout_s=READ_TIMEOUT_S,
        s3_connect_timeout_s=2.0,
        multipart_threshold_mb=5,
        multipart_chunksize_mb=5,
        upload_concurrency=3,
        lease_seconds=30.0,
    )
    container = server.container
    assert container.settings.upload_max_attempts == 6 and container.settings.s3_max_attempts == 3
    # Configure while the proxy is clean (saving validates against the bucket), then break it.
    accounts = [configure_custom(server, moto, endpoint=proxy.url) for _ in range(bots)]
    proxy.set_rate(0.30)
    started = time.monotonic()
    expected: dict[str, tuple[str, dict[str, tuple[int, str]]]] = {}
    for n, (account_id, _key, bucket) in enumerate(accounts):
        audio = HashingChunks(audio_mb[n % len(audio_mb)] * MB)
        small = {
            "chat.json": json.dumps([{"sender": "Ada", "text": f"bot {n}"}]).encode(),
            "transcript/processed.json": json.dumps({"segments": [{"text": "hello"}]}).encode(),
            "screenshots/00001.png": os.urandom(50_000),
            "video.mp4": os.urandom(6 * MB),
        }
        files: dict[str, Any] = {"audio.mp3": iter(audio), **small}
        bot = pinned_bot(container, account_id, files)
        want = {name: (len(data), hashlib.sha256(data).hexdigest()) for name, data in small.items()}
        want["audio.mp3"] = (audio.size, audio.sha256)
        expected[bot.bot_id] = (bucket, want)
    for bot_id in expected:
        wait_done(container, bot_id, timeout=max(1.0, bound_s - (time.monotonic() - started)))
    duration = time.monotonic() - started
    proxy.set_rate(0.0)

    attempts = 0
    rows_total = 0
    for bot_id, (bucket, want) in expected.items():
        rows = artifacts(container, bot_id)
        assert set(want) | {"manifest.json"} == set(rows)
        failed = {
            n: (r.last_error_code, r.last_error_message) for n, r in rows.items() if r.state != "uploaded"
        }
        assert not failed, failed
        for name, (size, sha) in want.items():
            assert object_sha256(moto, bucket, rows[name].key) == (size, sha), name
        manifest = rows["manifest.json"]
        assert object_sha256(moto, bucket, manifest.key) == (manifest.size, manifest.sha256)
        assert open_multipart_uploads(moto, bucket) == []
        names = [e["event"] for e in events(container, bot_id)]
        assert names.count("audio.processed") == 1 and names.count("bot.done") == 1
        assert "storage.upload_failed" not in names
        attempts += sum(r.attempts for r in rows.values())
        rows_total += len(rows)
    assert duration < bound_s
    stats = proxy.stats
    figures = {
        "bots": bots,
        "artifacts": rows_total,
        "audio_mb": audio_mb,
        "requests": stats.requests,
        "faults": dict(stats.faults),
        "injected": stats.injected,
        "fault_share": round(stats.injected / max(1, stats.requests), 3),
        "faults_by_operation": dict(stats.faults_by_operation),
        "upload_attempts": attempts,
        "upload_level_retries": attempts - rows_total,
        "duration_s": round(duration, 1),
    }
    print("FIGURES s3_faults", json.dumps(figures), file=sys.stderr)
    # The faults really happened, of every kind, stalls included.
    assert stats.injected >= 0.2 * stats.requests
    assert all(stats.faults[k] >= 1 for k in ("slowdown", "internal", "reset", "stall")), stats.faults
    return figures


def test_thirty_percent_s3_faults_every_artifact_lands(
    make_server: Callable[..., RunningServer], moto: MotoS3, proxy: FaultProxy
) -> None:
    run_under_faults(make_server, moto, proxy, bots=3, audio_mb=[12], bound_s=90)


@pytest.mark.slow
@pytest.mark.timeout(1200)
def test_thirty_percent_s3_faults_many_bots_big_files(
    make_server: Callable[..., RunningServer], moto: MotoS3, proxy: FaultProxy
) -> None:
    run_under_faults(make_server, moto, proxy, bots=8, audio_mb=[20, 40, 60], bound_s=600)
