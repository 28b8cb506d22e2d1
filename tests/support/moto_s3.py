"""A real S3 server for tests: moto in server mode, with IAM enforcement switched on.

Buckets, users and policies are made while checks are off (`/moto-api/reset-auth` with `inf`);
everything else runs with checks on (`0`), so a put-only policy is really denied a read.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
import httpx
from botocore.config import Config
from moto.server import ThreadedMotoServer

REGION = "us-east-1"


class MotoS3:
    def __init__(self, port: int = 0) -> None:
        """`port` 0: the kernel picks one when the server binds (known after `start`)."""
        self.port = port
        self.endpoint = f"http://127.0.0.1:{port}"
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self._lock = threading.RLock()
        self._auth_on = False
        self.admin_keys: tuple[str, str] = ("testing", "testing")

    # --- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        self._server.start()
        self.port = self._server.get_host_and_port()[1]
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._make_admin()
        self.set_auth(True)

    def stop(self) -> None:
        self._server.stop()

    def _post(self, path: str, body: str) -> None:
        httpx.post(self.endpoint + path, content=body.encode(), timeout=10).raise_for_status()

    def set_auth(self, on: bool) -> None:
        with self._lock:
            self._post("/moto-api/reset-auth", "0" if on else "inf")
            self._auth_on = on

    @contextmanager
    def auth_off(self) -> Iterator[None]:
        """IAM checks off for the block (set-up, or a presigned GET moto cannot verify)."""
        with self._lock:
            was = self._auth_on
            if was:
                self.set_auth(False)
            try:
                yield
            finally:
                if was:
                    self.set_auth(True)

    def reset(self) -> None:
        """Wipe every bucket, user and key (moto's memory grows with what it stores)."""
        with self._lock:
            self._post("/moto-api/reset", "")
            self._post("/moto-api/reset-auth", "inf")
            self._auth_on = False
            self._make_admin()
            self.set_auth(True)

    # --- clients ------------------------------------------------------------------------------
    def client(self, service: str, keys: tuple[str, str] | None = None) -> Any:
        access, secret = keys or self.admin_keys
        return boto3.session.Session().client(
            service,
            region_name=REGION,
            endpoint_url=self.endpoint,
            aws_access_key_id=access,
            aws_secret_access_key=secret,
            config=Config(
                signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 1}
            ),
        )

    @property
    def admin(self) -> Any:
        return self.client("s3")

    def _make_admin(self) -> None:
        root = self.client("iam", ("testing", "testing"))
        name = f"admin-{uuid.uuid4().hex[:8]}"
        root.create_user(UserName=name)
        root.put_user_policy(
            UserName=name,
            PolicyName="all",
            PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
            ),
        )
        key = root.create_access_key(UserName=name)["AccessKey"]
        self.admin_keys = (key["AccessKeyId"], key["SecretAccessKey"])

    # --- set-up helpers -------------------------------------------------------------------------
    def make_bucket(self, name: str | None = None) -> str:
        name = name or f"bkt-{uuid.uuid4().hex[:12]}"
        with self.auth_off():
            self.client("s3", ("testing", "testing")).create_bucket(Bucket=name)
        return name

    def make_user(self, statements: list[dict[str, Any]]) -> tuple[str, str]:
        """A new IAM user with an inline policy; returns (access_key_id, secret_access_key)."""
        with self.auth_off():
            iam = self.client("iam", ("testing", "testing"))
            name = f"u-{uuid.uuid4().hex[:10]}"
            iam.create_user(UserName=name)
            if statements:
                iam.put_user_policy(
                    UserName=name,
                    PolicyName="p",
                    PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
                )
            key = iam.create_access_key(UserName=name)["AccessKey"]
        return key["AccessKeyId"], key["SecretAccessKey"]

    def set_user_policy(self, access_key_id: str, statements: list[dict[str, Any]]) -> None:
        """Replace the inline policy of the user owning `access_key_id` (the customer fixes IAM)."""
        with self.auth_off():
            iam = self.client("iam", ("testing", "testing"))
            for user in iam.list_users()["Users"]:
                keys = iam.list_access_keys(UserName=user["UserName"])["AccessKeyMetadata"]
                if any(k["AccessKeyId"] == access_key_id for k in keys):
                    iam.put_user_policy(
                        UserName=user["UserName"],
                        PolicyName="p",
                        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
                    )
                    return
        raise KeyError("no user owns that access key")

    def objects(self, bucket: str, prefix: str = "") -> dict[str, bytes]:
        """Every object under `prefix`, read with the admin user."""
        s3 = self.admin
        out: dict[str, bytes] = {}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                out[obj["Key"]] = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
        return out

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        s3 = self.admin
        out: list[str] = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            out.extend(obj["Key"] for obj in page.get("Contents", []))
        return sorted(out)

    def head(self, bucket: str, key: str) -> dict[str, Any]:
        resp: dict[str, Any] = self.admin.head_object(Bucket=bucket, Key=key)
        return resp

    def get_presigned(self, url: str) -> httpx.Response:
        """Download through a presigned URL (moto cannot verify those with IAM checks on)."""
        with self.auth_off():
            return httpx.get(url, timeout=30)


# --- IAM policy statements ------------------------------------------------------------------------


def put_only(bucket: str, *prefixes: str) -> list[dict[str, Any]]:
    resources = [
        f"arn:aws:s3:::{bucket}/{p}/*" if p else f"arn:aws:s3:::{bucket}/*" for p in (prefixes or ("",))
    ]
    return [{"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": resources}]


def read_write(bucket: str, *prefixes: str) -> list[dict[str, Any]]:
    resources = [
        f"arn:aws:s3:::{bucket}/{p}/*" if p else f"arn:aws:s3:::{bucket}/*" for p in (prefixes or ("",))
    ]
    return [
        {
            "Effect": "Allow",
            "Action": ["s3:ListBucket", "s3:HeadBucket"],
            "Resource": [f"arn:aws:s3:::{bucket}"],
        },
        {
            "Effect": "Allow",
            "Action": [
                "s3:PutObject",
                "s3:GetObject",
                "s3:AbortMultipartUpload",
                "s3:ListMultipartUploadParts",
            ],
            "Resource": resources,
        },
    ]


def read_only(bucket: str) -> list[dict[str, Any]]:
    """A policy that can list and read but not write: every PutObject is AccessDenied."""
    return [
        {
            "Effect": "Allow",
            "Action": ["s3:ListBucket", "s3:HeadBucket"],
            "Resource": [f"arn:aws:s3:::{bucket}"],
        },
        {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": [f"arn:aws:s3:::{bucket}/meetstream/*"]},
    ]


def make_role(moto: MotoS3, external_id: str, statements: list[dict[str, Any]]) -> str:
    """An IAM role in moto's account that trusts `external_id`, with `statements` as its policy."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
            }
        ],
    }
    with moto.auth_off():
        iam = moto.client("iam", ("testing", "testing"))
        name = f"role-{uuid.uuid4().hex[:8]}"
        arn: str = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
        iam.put_role_policy(
            RoleName=name,
            PolicyName="s3",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
        )
    return arn


def may_delete(bucket: str, prefix: str, *actions: str) -> dict[str, Any]:
    """A statement letting the user delete under `prefix` (s3:DeleteObject, plus `actions`). moto
    authorises a DeleteObjects call against the bucket's ARN, AWS against each key's: both."""
    return {
        "Effect": "Allow",
        "Action": ["s3:DeleteObject", *actions],
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/{prefix}/*"],
    }


def staging_policy(bucket: str, prefix: str) -> list[dict[str, Any]]:
    """docs/operations.md's staging policy: objects under the prefix, and listing it (moto
    authorises DeleteObjects against the bucket's ARN, AWS against each key's: both)."""
    return [
        {
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"],
            "Resource": [f"arn:aws:s3:::{bucket}/{prefix}/*"],
        },
        {
            "Effect": "Allow",
            "Action": ["s3:DeleteObject"],
            "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/{prefix}/*"],
        },
        {
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": [f"arn:aws:s3:::{bucket}"],
            "Condition": {"StringLike": {"s3:prefix": [f"{prefix}/*"]}},
        },
    ]
