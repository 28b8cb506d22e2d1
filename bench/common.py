"""Shared machinery of the benchmarks: processes (moto, `meetstore serve`, `meetstore worker`),
throwaway PostgreSQL databases, bulk loading with COPY, wrk, and the one-line results.

Every benchmark measures its baseline in the same run and ends with one line per figure:

    <name>: <ratio> (<value> vs <baseline>)
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

VENV_BIN = Path(sys.executable).parent
REPO = Path(__file__).resolve().parents[1]
PG_ADMIN = os.environ.get("MEETSTORE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/test")
"""libpq conninfo of a database we may CREATE DATABASE from (each benchmark makes and drops its own)."""

MB = 1024 * 1024
RESULTS: list[str] = []


# --- results -----------------------------------------------------------------------------------------
def figure(name: str, ratio: float, value: str, baseline: str) -> str:
    """Print (and remember) one result line: `<name>: <ratio> (<value> vs <baseline>)`."""
    line = f"{name}: {ratio:.2f} ({value} vs {baseline})"
    RESULTS.append(line)
    print(line, flush=True)
    return line


def note(text: str) -> None:
    print(f"  {text}", flush=True)


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def machine() -> str:
    cpu = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "?"
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
    return f"{os.cpu_count()} CPUs ({cpu}), {mem} RAM, Python {sys.version.split()[0]}"


# --- processes -----------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_http(
    url: str, timeout: float = 60.0, proc: subprocess.Popen[Any] | None = None, verify: str | bool = True
) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            httpx.get(url, timeout=1.0, verify=verify)
            return
        except httpx.HTTPError:
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"process exited with {proc.returncode} before {url} answered") from None
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def stop_process(proc: subprocess.Popen[Any], timeout: float = 20.0) -> None:
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def vm_hwm_mb(pid: int) -> float:
    """Peak resident set size of a live process (VmHWM), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a live process, seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def self_signed_tls(folder: Path) -> Path:
    """A certificate (and its key, `key.pem` beside it) for 127.0.0.1, valid for a day: an
    https endpoint that clients trust through `AWS_CA_BUNDLE` (real S3 is https, and botocore
    sends a streamed part's checksum as a trailer only there: one pass over each part)."""
    import datetime as dt
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "key.pem").write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return folder / "cert.pem"


class Moto:
    """`moto_server` as its own process (IAM checks off: the default)."""

    def __init__(self, port: int | None = None, *, tmpdir: Path | None = None, tls: Path | None = None) -> None:
        """`tmpdir`: where moto spills object bodies (its TMPDIR). `tls`: a `self_signed_tls`
        certificate to serve https with."""
        self.port = port or free_port()
        self.tls = tls
        self.endpoint = f"{'https' if tls else 'http'}://127.0.0.1:{self.port}"
        self.tmpdir = tmpdir
        env = {**os.environ, "TMPDIR": str(tmpdir)} if tmpdir is not None else None
        ssl = ["-c", str(tls), "-k", str(tls.parent / "key.pem")] if tls is not None else []
        self.proc = subprocess.Popen(
            [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(self.port), *ssl],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        wait_http(f"{self.endpoint}/moto-api/", proc=self.proc, verify=self.verify)

    @property
    def verify(self) -> str | bool:
        return str(self.tls) if self.tls is not None else True

    def client(self, **config: Any) -> Any:
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client(
            "s3",
            region_name="us-east-1",
            endpoint_url=self.endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            verify=self.verify,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}, **config),
        )

    def reset(self) -> None:
        """Wipe moto's state (its memory grows with what it stores)."""
        httpx.post(f"{self.endpoint}/moto-api/reset", timeout=60, verify=self.verify)

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        stop_process(self.proc)

    def restart(self) -> None:
        """A fresh moto process on the same port: no state, and no memory left over from the
        objects of earlier runs (a reset empties moto but its process stays as large)."""
        self.stop()
        fresh = Moto(self.port, tmpdir=self.tmpdir, tls=self.tls)
        self.proc = fresh.proc


@contextlib.contextmanager
def moto_server(*, tmpdir: Path | None = None, tls: Path | None = None) -> Iterator[Moto]:
    moto = Moto(tmpdir=tmpdir, tls=tls)
    try:
        yield moto
    finally:
        moto.stop()


@contextlib.contextmanager
def temp_dir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=f"meetstore-bench-{prefix}-"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


# --- PostgreSQL --------------------------------------------------------------------------------------
@contextlib.contextmanager
def pg_database(label: str) -> Iterator[str]:
    """A new database on the local server; yields its SQLAlchemy URL; dropped afterwards."""
    name = f"meetstore_bench_{label}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    info = psycopg.conninfo.conninfo_to_dict(PG_ADMIN)
    user = info.get("user", "postgres")
    host = info.get("host", "127.0.0.1")
    port = info.get("port", "5432")
    try:
        yield f"postgresql+psycopg://{user}@{host}:{port}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def libpq_url(sqlalchemy_url: str) -> str:
    return sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)


# --- meetstore processes ------------------------------------------------------------------------------
def new_master_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def meetstore_env(data_dir: Path, database_url: str, master_key: str, **settings: Any) -> dict[str, str]:
    """The environment of a `meetstore` process: MEETSTORE_* settings on top of ours."""
    env = dict(os.environ)
    env.update(
        {
            "MEETSTORE_DATA_DIR": str(data_dir),
            "MEETSTORE_DATABASE_URL": database_url,
            "MEETSTORE_MASTER_KEY": master_key,
            "MEETSTORE_RUNTIME_TOKEN": "bench-runtime-token",
            "MEETSTORE_LOG_LEVEL": "WARNING",
        }
    )
    for name, value in settings.items():
        env[f"MEETSTORE_{name.upper()}"] = str(value)
    return env


def settings_from_env(env: dict[str, str]) -> Any:
    """The Settings a `meetstore` process with this environment would read."""
    from pydantic import SecretStr

    from meetstore.config import Settings

    fields: dict[str, Any] = {}
    for name, value in env.items():
        if name.startswith("MEETSTORE_"):
            key = name[len("MEETSTORE_") :].lower()
            if key in Settings.model_fields:
                fields[key] = value
    for secret in (
        "master_key",
        "runtime_token",
        "platform_s3_access_key_id",
        "platform_s3_secret_access_key",
        "spool_s3_access_key_id",
        "spool_s3_secret_access_key",
    ):
        if secret in fields:
            fields[secret] = SecretStr(fields[secret])
    return Settings(**fields)


@contextlib.contextmanager
def serve(env: dict[str, str], *, workers: int = 1) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`meetstore serve --workers N --no-upload-worker` on a free port; yields (base url, process)."""
    port = free_port()
    env = dict(env, MEETSTORE_HOST="127.0.0.1", MEETSTORE_PORT=str(port))
    env.setdefault("MEETSTORE_PUBLIC_BASE_URL", f"http://127.0.0.1:{port}")
    proc = subprocess.Popen(
        [str(VENV_BIN / "meetstore"), "serve", "--workers", str(workers), "--no-upload-worker"],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/healthz", proc=proc)
        yield base, proc
    finally:
        stop_process(proc)


def start_worker(
    env: dict[str, str], concurrency: int, *, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """`meetstore worker --concurrency N` (upload and webhook workers, no API)."""
    out = log.open("wb") if log is not None else subprocess.DEVNULL
    return subprocess.Popen(
        [str(VENV_BIN / "meetstore"), "worker", "--concurrency", str(concurrency), "--grace", "5"],
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT if log is not None else None,
    )


def recording_bot(account_id: str, now: datetime) -> Any:
    """A new bot row in Recording (no runtime), for benchmarks that put files in its spool."""
    from meetstore.adapters.db.tables import Bot

    return Bot(
        id=str(uuid.uuid4()),
        account_id=account_id,
        transcript_id=str(uuid.uuid4()),
        meeting_link="https://meet.example.com/bench",
        bot_name="bench",
        status="Recording",
        options={},
        created_at=now,
        updated_at=now,
    )


# --- bulk loading ---------------------------------------------------------------------------------
BOT_COLUMNS = (
    "id, account_id, transcript_id, transcript_provider, meeting_link, bot_name, status, options, "
    "runtime, created_at, updated_at, left_at, done_at, pin_kind, pin_bucket, pin_region, "
    "pin_prefixes, pinned_at, pin_endpoint_url, pin_config_version"
)
ARTIFACT_COLUMNS = (
    "bot_id, account_id, kind, category, seq, participant, spool_name, key, content_type, size, sha256, "
    "state, attempts, uploaded_at, spool_deleted, created_at"
)

# (kind, category, seq, spool name, key suffix, content type): ten files per bot, as a recording with
# video, a transcript and a few screenshots leaves them.
FILES_PER_BOT: tuple[tuple[str, str, int, str, str, str], ...] = (
    ("audio", "audio", 0, "audio.mp3", "_audio.mp3", "audio/mpeg"),
    ("video", "video", 0, "video.mp4", "_video.mp4", "video/mp4"),
    ("chat", "metadata", 0, "chat.json", "_chat.json", "application/json"),
    ("manifest", "metadata", 0, "manifest.json", "_manifest.json", "application/json"),
    ("transcript_raw", "transcript", 0, "transcript/raw.json", "", "application/json"),
    ("transcript_processed", "transcript", 0, "transcript/processed.json", "", "application/json"),
    ("screenshot", "video", 1, "screenshots/00001.png", "_screenshots/00001.png", "image/png"),
    ("screenshot", "video", 2, "screenshots/00002.png", "_screenshots/00002.png", "image/png"),
    ("screenshot", "video", 3, "screenshots/00003.png", "_screenshots/00003.png", "image/png"),
    ("screenshot", "video", 4, "screenshots/00004.png", "_screenshots/00004.png", "image/png"),
)


@dataclass(frozen=True)
class Seeded:
    bot_ids: list[str]
    """Every bot id (or a random sample of them, for very large loads)."""
    bots: int
    artifacts: int
    seconds: float


def copy_done_bots(
    database_url: str,
    account_id: str,
    n_bots: int,
    *,
    files_per_bot: int = 1,
    pin_bucket: str = "meetstore-platform",
    pin_region: str = "local",
    custom: tuple[str, int] | None = None,
    keep_ids: int = 20_000,
    batch: int = 50_000,
    drop_indexes: bool = False,
) -> Seeded:
    """Bulk-load `n_bots` Done bots pinned to the platform store (or, with `custom` = (endpoint
    URL, configuration version), to the customer bucket `pin_bucket` under `meetstream/`), each
    with its first `files_per_bot` files of FILES_PER_BOT uploaded, with COPY (psycopg). With
    `drop_indexes`, the artifacts' secondary indexes are dropped for the load and built again after
    (as a bulk load does).
    """
    import random

    started = time.perf_counter()
    prefix = "meetstream" if custom else f"accounts/{account_id}/meetstream"
    pin_kind, endpoint, version = ("custom", custom[0], str(custom[1])) if custom else ("platform", "\\N", "\\N")
    prefixes = json.dumps({"audio": prefix, "video": prefix, "transcript": prefix, "metadata": prefix})
    now = datetime.now(UTC)
    stamp = now.isoformat()
    created = (now - timedelta(hours=1)).isoformat()
    files = FILES_PER_BOT[:files_per_bot]
    kept: list[str] = []
    seen = 0
    rng = random.Random(7)
    with psycopg.connect(libpq_url(database_url)) as conn:
        constraints: list[tuple[str, str, str]] = []
        indexes: list[tuple[str, str]] = []
        if drop_indexes:
            constraints = [
                (str(t), str(n), str(d))
                for t, n, d in conn.execute(
                    "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conrelid IN ('artifacts'::regclass, 'bots'::regclass) AND contype IN ('u', 'f')"
                ).fetchall()
            ]
            indexes = [
                (str(n), str(d))
                for n, d in conn.execute(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('artifacts', 'bots') "
                    "AND indexname NOT IN (SELECT conname FROM pg_constraint)"
                ).fetchall()
            ]
            for table, name, _def in constraints:
                conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
            for name, _ddl in indexes:
                conn.execute(f'DROP INDEX "{name}"')
            conn.commit()
        done = 0
        while done < n_bots:
            n = min(batch, n_bots - done)
            ids = [str(uuid.uuid4()) for _ in range(n)]
            bots = io.StringIO()
            arts = io.StringIO()
            for bot_id in ids:
                tid = str(uuid.uuid4())
                bots.write(
                    f"{bot_id}\t{account_id}\t{tid}\tmeetstream\thttps://meet.example.com/abc-defg-hij\t"
                    f"bench\tDone\t{{}}\tsimulated\t{created}\t{stamp}\t{stamp}\t{stamp}\t{pin_kind}\t"
                    f"{pin_bucket}\t{pin_region}\t{prefixes}\t{stamp}\t{endpoint}\t{version}\n"
                )
                for kind, category, seq, spool, suffix, ctype in files:
                    if suffix:
                        key = f"{prefix}/{bot_id}{suffix}"
                    else:
                        name = spool.split("/")[1]
                        key = f"{prefix}/{bot_id}_transcription/meetstream/{tid}/{name}"
                    arts.write(
                        f"{bot_id}\t{account_id}\t{kind}\t{category}\t{seq}\t\t{spool}\t{key}\t{ctype}\t"
                        f"48213\t{'ab' * 32}\tuploaded\t1\t{stamp}\tt\t{created}\n"
                    )
            with conn.cursor() as cur:
                with cur.copy(f"COPY bots ({BOT_COLUMNS}) FROM STDIN") as copy:
                    copy.write(bots.getvalue())
                if files:
                    with cur.copy(f"COPY artifacts ({ARTIFACT_COLUMNS}) FROM STDIN") as copy:
                        copy.write(arts.getvalue())
            conn.commit()
            for bot_id in ids:  # reservoir sample: ids spread over the whole load
                seen += 1
                if len(kept) < keep_ids:
                    kept.append(bot_id)
                else:
                    j = rng.randrange(seen)
                    if j < keep_ids:
                        kept[j] = bot_id
            done += n
        for _name, ddl in indexes:
            conn.execute(ddl)
        for table, name, definition in sorted(constraints, key=lambda c: "FOREIGN" in c[2]):
            conn.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
        conn.commit()
    with psycopg.connect(libpq_url(database_url), autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE bots")
        conn.execute("VACUUM ANALYZE artifacts")
    return Seeded(kept, n_bots, n_bots * len(files), time.perf_counter() - started)


# --- wrk -----------------------------------------------------------------------------------------
WRK_SCRIPT = r"""
local ids = {}
local path_template = os.getenv("BENCH_PATH")
local ids_file = os.getenv("BENCH_IDS")
if ids_file and ids_file ~= "" then
  for line in io.lines(ids_file) do ids[#ids + 1] = line end
end
wrk.headers["Authorization"] = "Token " .. os.getenv("BENCH_API_KEY")

function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

local sequential = os.getenv("BENCH_SEQUENTIAL") == "1"
local next_id = 0
local answered = 0

request = function()
  local path = path_template
  if #ids > 0 then
    local id
    if sequential then
      next_id = next_id % #ids + 1
      id = ids[next_id]
    else
      id = ids[math.random(#ids)]
    end
    path = string.gsub(path_template, "{id}", id)
  end
  return wrk.format("GET", path)
end

if sequential then  -- a response() callback costs wrk time: only for the warm-up pass
  response = function(status, headers, body)
    answered = answered + 1
    if answered >= #ids then wrk.thread:stop() end
  end
end

done = function(summary, latency, requests)
  local out = string.format(
    '{"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"mean_us": %.1f, "errors_status": %d, "errors_connect": %d, "errors_read": %d, ' ..
    '"errors_write": %d, "errors_timeout": %d}',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout)
  io.write("WRK_JSON " .. out .. "\n")
end
"""


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int

    def describe(self) -> str:
        return (
            f"{self.rps:,.0f} req/s, p50 {self.p50_ms:.1f} ms, p90 {self.p90_ms:.1f} ms, "
            f"p99 {self.p99_ms:.1f} ms, max {self.max_ms:.1f} ms, {self.requests:,} requests, "
            f"{self.errors} errors"
        )


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    note("wrk is missing: apt-get install -y wrk")
    apt = ["apt-get", "install", "-y", "-q", "wrk"]
    if subprocess.run(apt, check=False, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], check=False, capture_output=True)
        subprocess.run(apt, check=True, capture_output=True)
    found = shutil.which("wrk")
    if not found:
        raise RuntimeError("wrk is not installed and could not be installed")
    return found


def run_wrk(
    base_url: str,
    path: str,
    api_key: str,
    *,
    ids: Iterable[str] = (),
    connections: int = 64,
    threads: int = 1,
    duration_s: float = 10.0,
    workdir: Path,
    sequential: bool = False,
) -> WrkResult:
    """wrk against `base_url + path` (`{id}` in the path is replaced by a random id of `ids`; with
    `sequential`, by each id in turn, stopping after one pass or `duration_s`)."""
    wrk = ensure_wrk()
    script = workdir / "bench.lua"
    script.write_text(WRK_SCRIPT)
    ids_file = workdir / "ids.txt"
    ids_list = list(ids)
    ids_file.write_text("\n".join(ids_list) + ("\n" if ids_list else ""))
    env = dict(
        os.environ,
        BENCH_PATH=path,
        BENCH_IDS=str(ids_file) if ids_list else "",
        BENCH_API_KEY=api_key,
        BENCH_SEQUENTIAL="1" if sequential else "0",
    )
    cmd = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration_s))}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        base_url,
    ]
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("WRK_JSON "))
    doc = json.loads(line[len("WRK_JSON ") :])
    seconds = doc["duration_us"] / 1e6
    errors = sum(int(doc[k]) for k in doc if k.startswith("errors_"))
    return WrkResult(
        requests=int(doc["requests"]),
        seconds=seconds,
        rps=doc["requests"] / seconds if seconds else 0.0,
        p50_ms=doc["p50_us"] / 1000,
        p90_ms=doc["p90_us"] / 1000,
        p99_ms=doc["p99_us"] / 1000,
        max_ms=doc["max_us"] / 1000,
        errors=errors,
    )
