"""No secret leaks: a full scenario with DEBUG logging, then a search of everything it left behind.

The app runs as operators run it: `meetstore serve` (a subprocess, MEETSTORE_LOG_LEVEL=DEBUG, its
in-process upload and webhook workers), with `meetstore migrate`, `accounts create`,
`accounts rotate-webhook-secret` and `keys rotate` as subprocesses too. The scenario: two accounts;
custom storage read_write (A) and write_only (B); bots recorded by the simulated runtime to Done;
every fetch endpoint; validation failures (wrong secret, unknown key id, AccessDenied); uploads
denied by IAM (failed for good, storage.upload_failed, retry_uploads); webhooks signed with the
account's secret; the webhook secret rotated; the master key rotated; the ingest API called with
the runtime token (and a wrong one); a configuration deleted.

Then every secret — each customer secret key and access key id, each API key, each webhook secret
(old and new), the runtime token, the URL-signing key and every master key (raw, hex, base64) — is
searched for in: every line the processes logged (stdout and stderr), every response status line,
header and body the client saw, every webhook request the receiver got, every exception message the
SDK raised, and the raw database (the SQLite file with its -wal/-shm, or a pg_dump of the test's
PostgreSQL schema). None may be found.

The one documented exception: a presigned URL for a customer bucket carries the access key id in
its `X-Amz-Credential` parameter (SigV4 puts it there; S3 cannot verify the URL without it). The
search removes exactly that parameter's value from the URLs the API returned, and nothing else.
"""

from __future__ import annotations

import base64
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import httpx
import pytest
from meetstream import BadRequestError, MeetStream, MeetStreamError, verify_webhook_signature

from conftest import PG_ADMIN_URL, PgSchemas
from support.bots import MEETING
from support.moto_s3 import MotoS3, put_only, read_write
from support.servers import free_port
from support.webhook_receiver import WebhookReceiver

PYTHON = sys.executable


# --- evidence and secrets ---------------------------------------------------------------------------


@dataclass
class Evidence:
    """Everything the scenario produced that a person or a log pipeline could see."""

    blobs: list[tuple[str, bytes]] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    responses: int = 0

    def add(self, where: str, data: bytes | str) -> None:
        self.blobs.append((where, data.encode() if isinstance(data, str) else data))

    def record_response(self, resp: httpx.Response) -> None:
        resp.read()
        self.responses += 1
        head = f"{resp.request.method} {resp.request.url} -> {resp.status_code}\n"
        head += "".join(f"{k}: {v}\n" for k, v in resp.headers.items())
        self.add(f"response {resp.request.method} {resp.request.url.path}", head.encode() + resp.content)


class Secrets:
    def __init__(self) -> None:
        self.values: dict[str, set[bytes]] = {}

    def text(self, name: str, value: str) -> None:
        forms = {value, quote(value, safe=""), json.dumps(value)[1:-1]}
        self.values.setdefault(name, set()).update(f.encode() for f in forms if len(f) >= 8)

    def key(self, name: str, raw: bytes) -> None:
        forms = {
            raw,
            raw.hex().encode(),
            raw.hex().upper().encode(),
            base64.b64encode(raw),
            base64.urlsafe_b64encode(raw),
            base64.b64encode(raw).rstrip(b"="),
            base64.urlsafe_b64encode(raw).rstrip(b"="),
        }
        self.values.setdefault(name, set()).update(forms)

    def find(self, evidence: Evidence) -> list[tuple[str, str]]:
        found = []
        for where, blob in evidence.blobs:
            for name, forms in self.values.items():
                if any(f in blob for f in forms):
                    found.append((name, where))
        for i, message in enumerate(evidence.exceptions):
            for name, forms in self.values.items():
                if any(f in message.encode() for f in forms):
                    found.append((name, f"exception #{i}"))
        return found


_CREDENTIAL = re.compile(rb"(X-Amz-Credential=)[^&\"'\s]+")


def strip_presign_credential(blob: bytes) -> bytes:
    """Drop the value of X-Amz-Credential (the documented exception) from presigned URLs."""
    return _CREDENTIAL.sub(rb"\1<removed>", blob)


# --- processes --------------------------------------------------------------------------------------


class App:
    """meetstore's processes for one data dir and database, their output kept in files."""

    def __init__(self, data_dir: Path, database_url: str | None, logs: Path) -> None:
        self.data_dir = data_dir
        self.logs = logs
        self.port = free_port()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("MEETSTORE_")}
        self.env.update(
            {
                "MEETSTORE_DATA_DIR": str(data_dir),
                "MEETSTORE_HOST": "127.0.0.1",
                "MEETSTORE_PORT": str(self.port),
                "MEETSTORE_LOG_LEVEL": "DEBUG",
                "MEETSTORE_ALLOW_PRIVATE_ENDPOINTS": "true",
                "MEETSTORE_POLL_INTERVAL_S": "0.05",
                "MEETSTORE_UPLOAD_BACKOFF_BASE_S": "0.05",
                "MEETSTORE_UPLOAD_BACKOFF_MAX_S": "0.3",
                "MEETSTORE_WEBHOOK_BACKOFF_BASE_S": "0.05",
                "MEETSTORE_WEBHOOK_BACKOFF_MAX_S": "0.3",
                "MEETSTORE_SIMULATED_STEP_DELAY_S": "0.05",
                "MEETSTORE_VALIDATION_TIMEOUT_S": "5",
                "MEETSTORE_RATE_LIMIT_PER_MINUTE": "100000",
                "MEETSTORE_RATE_LIMIT_BURST": "100000",
            }
        )
        if database_url:
            self.env["MEETSTORE_DATABASE_URL"] = database_url
        self.outputs: list[tuple[str, Path]] = []
        self.server: subprocess.Popen[bytes] | None = None
        self._n = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _files(self, label: str) -> tuple[Path, Path]:
        self._n += 1
        out = self.logs / f"{self._n:02d}-{label}.stdout"
        err = self.logs / f"{self._n:02d}-{label}.stderr"
        return out, err

    def cli(self, label: str, *args: str, stdout_is_output: bool = False) -> str:
        """Run `meetstore <args>`; its stderr (and stdout, unless that is the command's one-time
        display of a new secret, e.g. `accounts create --json`) counts as log output."""
        out, err = self._files(label)
        with out.open("wb") as o, err.open("wb") as e:
            done = subprocess.run(
                [PYTHON, "-m", "meetstore.cli", *args], env=self.env, stdout=o, stderr=e, timeout=120
            )
        assert done.returncode == 0, err.read_text()
        self.outputs.append((f"{label} stderr", err))
        if not stdout_is_output:
            self.outputs.append((f"{label} stdout", out))
        return out.read_text()

    def serve(self) -> None:
        out, err = self._files("serve")
        self.outputs += [("serve stdout", out), ("serve stderr", err)]
        self.server = subprocess.Popen(
            [PYTHON, "-m", "meetstore.cli", "serve"],
            env=self.env,
            stdout=out.open("wb"),
            stderr=err.open("wb"),
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert self.server.poll() is None, err.read_text()
            assert time.monotonic() < deadline, "meetstore serve did not start"
            time.sleep(0.1)

    def stop(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.send_signal(signal.SIGINT)
            try:
                self.server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait(timeout=10)
        self.server = None


@pytest.fixture(params=["sqlite", "postgres"])
def app(
    request: pytest.FixtureRequest, tmp_path: Path, pg_schemas: PgSchemas
) -> Iterator[tuple[App, str | None]]:
    schema = None
    url = None
    if request.param == "postgres":
        url = pg_schemas.new_url()
        schema = unquote(url.rsplit("search_path%3D", 1)[1])
    logs = tmp_path / "logs"
    logs.mkdir()
    proc = App(tmp_path / "data", url, logs)
    yield proc, schema
    proc.stop()


# --- the scenario -----------------------------------------------------------------------------------


def storage(moto: MotoS3, bucket: str, keys: tuple[str, str], **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "provider": "aws",
        "bucket_name": bucket,
        "region": "us-east-1",
        "access_key_id": keys[0],
        "secret_key": keys[1],
        "endpoint_url": moto.endpoint,
    }
    body.update(extra)
    return body


def head_bucket_only(bucket: str) -> list[dict[str, Any]]:
    return [
        {
            "Effect": "Allow",
            "Action": ["s3:ListBucket", "s3:HeadBucket"],
            "Resource": [f"arn:aws:s3:::{bucket}"],
        }
    ]


def test_no_secret_in_logs_responses_errors_or_database(app: tuple[App, str | None], moto: MotoS3) -> None:
    proc, pg_schema = app
    evidence = Evidence()
    secrets = Secrets()
    http = httpx.Client(timeout=60, event_hooks={"response": [evidence.record_response]})

    def sdk(api_key: str) -> MeetStream:
        return MeetStream(api_key=api_key, base_url=proc.base + "/api/v1", max_retries=0, http_client=http)

    def expect_error(
        call: Callable[[], Any], kind: type[MeetStreamError] = MeetStreamError
    ) -> MeetStreamError:
        try:
            call()
        except kind as exc:
            evidence.exceptions += [str(exc), repr(exc), repr(exc.body), exc.message]
            return exc
        raise AssertionError("the call should have failed")

    proc.cli("migrate", "migrate")
    a = json.loads(
        proc.cli("accounts-a", "accounts", "create", "--name", "a", "--json", stdout_is_output=True)
    )
    b = json.loads(
        proc.cli("accounts-b", "accounts", "create", "--name", "b", "--json", stdout_is_output=True)
    )
    proc.serve()
    for who in (a, b):
        secrets.text(f"api key {who['account_id']}", who["api_key"])
        secrets.text(f"webhook secret {who['account_id']}", who["webhook_secret"])
    # The runtime token is generated into the data dir on first use of the ingest API.
    httpx.get(f"{proc.base}/internal/v1/bots", headers={"Authorization": "Bearer x"})  # the dispatcher's call
    runtime = (proc.data_dir / "runtime.token").read_text().strip()
    secrets.text("runtime token", runtime)
    signing = base64.b64decode((proc.data_dir / "url-signing.key").read_text().strip())
    secrets.key("url signing key", signing)
    ring = json.loads((proc.data_dir / "master.key").read_text())
    secrets.key("master key (first)", base64.b64decode(ring["current"]))

    receiver = WebhookReceiver()
    try:
        sa, sb = sdk(a["api_key"]), sdk(b["api_key"])

        # A: validation failures first (wrong secret, unknown key id, AccessDenied), then read_write.
        bucket_a = moto.make_bucket()
        keys_a = moto.make_user(read_write(bucket_a, "meetstream"))
        secrets.text("A access key id", keys_a[0])
        secrets.text("A secret key", keys_a[1])
        wrong_secret = keys_a[1][:-6] + "ABCDEF"
        secrets.text("A wrong secret key", wrong_secret)
        err = expect_error(
            lambda: sa.storage.set(storage(moto, bucket_a, (keys_a[0], wrong_secret))), BadRequestError
        )
        assert err.body["s3_error"] == "SignatureDoesNotMatch"
        fake_id = "AKIA" + uuid.uuid4().hex[:16].upper()
        secrets.text("unknown access key id", fake_id)
        err = expect_error(
            lambda: sa.storage.set(storage(moto, bucket_a, (fake_id, keys_a[1]))), BadRequestError
        )
        assert err.body["s3_error"] == "InvalidAccessKeyId"
        denied = moto.make_user(put_only(bucket_a, "elsewhere"))
        secrets.text("denied access key id", denied[0])
        secrets.text("denied secret key", denied[1])
        err = expect_error(
            lambda: sa.storage.set(storage(moto, bucket_a, denied, access_mode="write_only")), BadRequestError
        )
        assert err.body["s3_error"] == "AccessDenied"
        http.post(
            proc.base + "/api/v1/admin/configs/validate",
            params={"config_type": "storage", "deep": "true"},
            json=storage(moto, bucket_a, keys_a),
            headers={"Authorization": f"Token {a['api_key']}"},
        )
        sa.storage.set(storage(moto, bucket_a, keys_a, webhook_url=receiver.url))
        assert "access_key_id" not in json.dumps(sa.storage.get())

        # B: write_only.
        bucket_b = moto.make_bucket()
        keys_b = moto.make_user(put_only(bucket_b, "meetstream"))
        secrets.text("B access key id", keys_b[0])
        secrets.text("B secret key", keys_b[1])
        sb.storage.set(storage(moto, bucket_b, keys_b, access_mode="write_only"))

        # Bots to Done, webhooks signed with each account's secret.
        params = {
            "meeting_link": MEETING,
            "bot_name": "Recorder",
            "audio_separate_streams": True,
            "callback_url": receiver.url,
            "recording_config": {"simulated": {"duration_s": 1.0}},
        }
        bot_a = sa.bots.create(params)
        bot_b = sb.bots.create(params)

        def done(client: MeetStream, bot_id: str) -> dict[str, Any]:
            deadline = time.monotonic() + 90
            while client.bots.status(bot_id)["status"] != "Done":
                assert time.monotonic() < deadline, client.bots.detail(bot_id)
                time.sleep(0.1)
            detail: dict[str, Any] = client.bots.detail(bot_id)
            return detail

        done(sa, bot_a["bot_id"])
        done(sb, bot_b["bot_id"])

        # Every fetch endpoint, for both; A's URLs downloaded.
        for client, key, bot in ((sa, a["api_key"], bot_a), (sb, b["api_key"], bot_b)):
            bid = bot["bot_id"]
            for path in (
                "get_audio",
                "get_video",
                "get_audio_streams",
                "get_screenshots",
                "get_chats",
                "transcriptions",
                "get_manifest",
                "get_participants",
                "get_speaker_timeline",
                "status",
                "detail",
            ):
                http.get(f"{proc.base}/api/v1/bots/{bid}/{path}", headers={"Authorization": f"Token {key}"})
            for raw in ("false", "true"):
                http.get(
                    f"{proc.base}/api/v1/transcript/{bot['transcript_id']}/get_transcript",
                    params={"raw": raw},
                    headers={"Authorization": f"Token {key}"},
                )
            http.get(f"{proc.base}/api/v1/bots", headers={"Authorization": f"Token {key}"})
            http.get(f"{proc.base}/api/v1/admin/configs", headers={"Authorization": f"Token {key}"})
        audio_url = sa.bots.audio(bot_a["bot_id"])["audio_url"]
        with moto.auth_off():
            evidence.record_response(http.get(audio_url))
        expect_error(lambda: sb.bots.audio(bot_b["bot_id"]))  # 403 write_only_storage

        # The ingest API with the runtime token, and with a wrong one.
        for token in (runtime, "wrong-" + runtime[6:]):
            http.get(
                f"{proc.base}/internal/v1/bots/{bot_a['bot_id']}/status",
                headers={"Authorization": f"Bearer {token}"},
            )
        # A wrong API key, and no key.
        expect_error(lambda: sdk(a["api_key"][:-4] + "xxxx").bots.list())
        expect_error(lambda: sdk("").bots.list())

        # Uploads denied by IAM: failed for good, storage.upload_failed, then retry_uploads.
        bucket_c = moto.make_bucket()
        keys_c = moto.make_user(head_bucket_only(bucket_c))
        secrets.text("C access key id", keys_c[0])
        secrets.text("C secret key", keys_c[1])
        sa.storage.set(storage(moto, bucket_c, keys_c))
        bot_c = sa.bots.create(params)
        done(sa, bot_c["bot_id"])
        expect_error(lambda: sa.bots.audio(bot_c["bot_id"]))  # 404 upload_failed
        http.post(
            f"{proc.base}/api/v1/bots/{bot_c['bot_id']}/retry_uploads",
            headers={"Authorization": f"Token {a['api_key']}"},
        )
        done(sa, bot_c["bot_id"])

        # Rotate A's webhook secret; the next bot's events are signed with the new one.
        rotated = json.loads(
            proc.cli(
                "rotate-webhook-secret",
                "accounts",
                "rotate-webhook-secret",
                a["account_id"],
                "--json",
                stdout_is_output=True,
            )
        )["webhook_secret"]
        secrets.text("A webhook secret (rotated)", rotated)
        sa.storage.set(storage(moto, bucket_a, keys_a))
        bot_d = sa.bots.create(params)
        done(sa, bot_d["bot_id"])

        # Rotate the master key while the server runs; everything still opens.
        proc.cli("keys-rotate", "keys", "rotate")
        ring = json.loads((proc.data_dir / "master.key").read_text())
        secrets.key("master key (after rotation)", base64.b64decode(ring["current"]))
        assert sa.storage.get()["storage"]["bucket_name"] == bucket_a
        sa.bots.audio(bot_d["bot_id"])
        sb.storage.delete()

        # The webhooks were really signed with the secrets searched for.
        time.sleep(0.5)
        got = receiver.snapshot()
        by_bot = {bot_a["bot_id"]: a["webhook_secret"], bot_b["bot_id"]: b["webhook_secret"]}
        by_bot[bot_d["bot_id"]] = rotated
        checked = 0
        for r in got:
            evidence.add(f"webhook {r.event}", json.dumps(r.headers).encode() + r.body)
            secret = by_bot.get(r.json().get("bot_id"))
            if secret is not None and r.ok:
                assert verify_webhook_signature(r.body, r.signature, secret), r.event
                checked += 1
        assert checked >= 12, checked
        assert any(r.event == "storage.upload_failed" for r in got)
    finally:
        receiver.stop()
        http.close()
        proc.stop()

    # --- gather and search ----------------------------------------------------------------------
    for label, path in proc.outputs:
        evidence.add(label, path.read_bytes())
    log_bytes = sum(len(p.read_bytes()) for _, p in proc.outputs)
    assert b"DEBUG" in b"".join(p.read_bytes() for _, p in proc.outputs), "the processes logged at DEBUG"
    if pg_schema is None:
        db = proc.data_dir / "meetstore.db"
        for path in sorted(db.parent.glob(db.name + "*")):
            evidence.add(f"database file {path.name}", path.read_bytes())
    else:
        parts = urlsplit(PG_ADMIN_URL.replace("postgresql+psycopg", "postgresql"))
        dump = subprocess.run(
            [
                "pg_dump",
                "-h",
                parts.hostname or "127.0.0.1",
                "-p",
                str(parts.port or 5432),
                "-U",
                parts.username or "postgres",
                "-d",
                parts.path.lstrip("/"),
                f"--schema={pg_schema}",
            ],
            capture_output=True,
            timeout=60,
        )
        assert dump.returncode == 0, dump.stderr
        assert b"storage_configs" in dump.stdout
        evidence.add("pg_dump", dump.stdout)

    # The one exception (module docstring): the credential scope of presigned URLs in responses.
    cleaned: list[tuple[str, bytes]] = []
    for where, blob in evidence.blobs:
        if where.startswith("response"):
            blob = strip_presign_credential(blob)
        cleaned.append((where, blob))
    evidence.blobs = cleaned
    leaks = secrets.find(evidence)
    print(
        f"\nsecrets search: {len(secrets.values)} secrets, {evidence.responses} responses, "
        f"{len(evidence.exceptions)} exception texts, {log_bytes} bytes of log output, "
        f"{sum(len(b) for w, b in evidence.blobs if w.startswith(('database', 'pg_dump')))} bytes of database"
    )
    assert not leaks, leaks


def test_presigned_credential_stripping_removes_only_the_credential() -> None:
    url = (
        b'{"audio_url": "http://s3/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAXXXX%2F2026'
        b'&X-Amz-Signature=abc", "note": "AKIAXXXX"}'
    )
    out = strip_presign_credential(url)
    assert b"X-Amz-Credential=<removed>&X-Amz-Signature=abc" in out
    assert out.count(b"AKIAXXXX") == 1  # anywhere else it is still found
