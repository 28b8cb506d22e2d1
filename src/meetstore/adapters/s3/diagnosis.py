"""The deep storage check (`validate?deep=true`): every operation meetstore uses, per prefix.

Each row says which IAM action on which resource a failure points at, so a customer can fix the
policy from one response. Test objects are named `{p}/.meetstore_diagnose_<random>`.
"""

from __future__ import annotations

import secrets
from typing import Any

import httpx

from meetstore.adapters.s3.clients import S3ClientFactory
from meetstore.adapters.s3.errors import translate
from meetstore.adapters.s3.validation import client_or_fail
from meetstore.domain.storage_target import S3Target
from meetstore.errors import StorageValidationFailed

BODY = b"meetstore diagnosis object: safe to delete\n"

# check name -> (IAM action, resource kind)
CHECKS: dict[str, tuple[str, str]] = {
    "PutObject": ("s3:PutObject", "object"),
    "HeadObject": ("s3:GetObject", "object"),
    "GetObject": ("s3:GetObject", "object"),
    "PresignedGet": ("s3:GetObject", "object"),
    "MultipartUpload": ("s3:PutObject", "object"),
    "AbortMultipartUpload": ("s3:AbortMultipartUpload", "object"),
    "DeleteObject": ("s3:DeleteObject", "object"),
}


def _resource(bucket: str, prefix: str) -> str:
    return f"arn:aws:s3:::{bucket}/{prefix}/*" if prefix else f"arn:aws:s3:::{bucket}/*"


def diagnose_storage(
    factory: S3ClientFactory,
    target: S3Target,
    prefixes: list[str],
    *,
    timeout_s: float,
    extra_put_args: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    try:
        client = client_or_fail(factory, target, timeout_s=timeout_s)
    except StorageValidationFailed as exc:
        return [
            {
                "prefix": None,
                "check": "AssumeRole",
                "ok": False,
                "iam_action": "sts:AssumeRole",
                "resource": getattr(target.credentials, "role_arn", None),
                "s3_error": exc.details.get("s3_error"),
                "message": exc.message,
            }
        ]
    rows: list[dict[str, Any]] = []
    for prefix in prefixes:
        rows.extend(_diagnose_prefix(client, target, prefix, dict(extra_put_args or {}), timeout_s))
    return rows


def _diagnose_prefix(
    client: Any, target: S3Target, prefix: str, args: dict[str, str], timeout_s: float
) -> list[dict[str, Any]]:
    bucket = target.bucket
    resource = _resource(bucket, prefix)
    name = f".meetstore_diagnose_{secrets.token_hex(6)}"
    key = f"{prefix}/{name}" if prefix else name
    mpu_key = key + ".mpu"
    rows: list[dict[str, Any]] = []

    def record(check: str, row_key: str, fn: Any) -> bool:
        action, _ = CHECKS[check]
        row: dict[str, Any] = {
            "prefix": prefix,
            "check": check,
            "key": row_key,
            "iam_action": action,
            "resource": resource,
        }
        try:
            fn()
        except Exception as exc:
            err = translate(exc, operation=check, bucket=bucket, key=row_key, region=target.region)
            row.update(
                ok=False,
                s3_error=err.s3_error,
                message=f"Missing or refused: {action} on {resource} ({err.s3_error}).",
            )
            rows.append(row)
            return False
        row.update(ok=True)
        rows.append(row)
        return True

    def presigned_get() -> None:
        url = client.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=60)
        resp = httpx.get(url, timeout=timeout_s)
        if resp.status_code != 200:
            raise PresignedFetchFailed(resp.status_code)

    upload: dict[str, str] = {}

    def create_multipart() -> None:
        upload["id"] = client.create_multipart_upload(Bucket=bucket, Key=mpu_key, **args)["UploadId"]

    put_ok = record("PutObject", key, lambda: client.put_object(Bucket=bucket, Key=key, Body=BODY, **args))
    if put_ok:
        record("HeadObject", key, lambda: client.head_object(Bucket=bucket, Key=key))
        record("GetObject", key, lambda: client.get_object(Bucket=bucket, Key=key)["Body"].read())
        record("PresignedGet", key, presigned_get)
    if record("MultipartUpload", mpu_key, create_multipart):
        record(
            "AbortMultipartUpload",
            mpu_key,
            lambda: client.abort_multipart_upload(Bucket=bucket, Key=mpu_key, UploadId=upload["id"]),
        )
    if put_ok:
        record("DeleteObject", key, lambda: client.delete_object(Bucket=bucket, Key=key))
    return rows


class PresignedFetchFailed(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"presigned GET answered {status}")
        self.status = status
