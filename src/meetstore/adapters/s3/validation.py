"""Live validation of a storage configuration (API.md, "Validation before anything is saved").

read_write: one HeadBucket. write_only: one probe PutObject under each distinct effective prefix,
concurrently; no read is attempted. Everything within `timeout_s`.
"""

from __future__ import annotations

import secrets
import threading
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from meetstore.adapters.s3.bucket import S3Bucket
from meetstore.adapters.s3.clients import S3ClientFactory
from meetstore.adapters.s3.errors import explain
from meetstore.domain.storage_config import AccessMode, probe_key
from meetstore.domain.storage_target import RoleCredentials, S3Target
from meetstore.errors import S3OperationError, StorageValidationFailed

PROBE_BODY = b"meetstore write probe: safe to delete\n"
PROBE_THREADS = 64
"""Threads of the process-wide probe pool (started on demand, kept for the next validation)."""

_probe_pool: ThreadPoolExecutor | None = None
_probe_pool_lock = threading.Lock()


def probe_pool() -> ThreadPoolExecutor:
    """The probes' thread pool, shared by every validation of the process: starting threads for
    each validation costs more than the probes themselves."""
    global _probe_pool
    with _probe_pool_lock:
        if _probe_pool is None:
            _probe_pool = ThreadPoolExecutor(max_workers=PROBE_THREADS, thread_name_prefix="probe")
        return _probe_pool


@dataclass(frozen=True)
class Check:
    operation: str
    key: str | None
    ok: bool
    s3_error: str | None = None
    message: str | None = None

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {"operation": self.operation, "ok": self.ok}
        if self.key is not None:
            out["key"] = self.key
        if self.s3_error:
            out["s3_error"] = self.s3_error
        if self.message:
            out["message"] = self.message
        return out


def _fail(err: S3OperationError) -> StorageValidationFailed:
    return StorageValidationFailed(
        f"Storage validation failed: {err.message}",
        s3_error=err.s3_error,
        operation=err.operation,
        bucket=err.bucket,
        key=err.key,
    )


def client_or_fail(factory: S3ClientFactory, target: S3Target, *, timeout_s: float) -> Any:
    """A one-off client; for a role, the AssumeRole failure as a validation failure."""
    try:
        return factory.one_off_client(target, timeout_s=timeout_s)
    except Exception as exc:
        if not isinstance(target.credentials, RoleCredentials):
            raise
        code = "AccessDenied"
        if isinstance(exc, ClientError):
            code = str(exc.response.get("Error", {}).get("Code") or code)
        elif isinstance(exc, BotoCoreError):
            code = "EndpointUnreachable"
        raise StorageValidationFailed(
            f"Storage validation failed: meetstore could not assume {target.credentials.role_arn} ({code}). "
            "The role's trust policy must allow sts:AssumeRole for meetstore's AWS principal with the "
            f"condition sts:ExternalId = {target.credentials.external_id}.",
            s3_error=code,
            operation="AssumeRole",
            bucket=target.bucket,
            key=None,
        ) from None


def validate_storage(
    factory: S3ClientFactory,
    target: S3Target,
    access_mode: AccessMode,
    prefixes: list[str],
    *,
    timeout_s: float,
    extra_put_args: dict[str, str] | None = None,
    probe_token: str | None = None,
) -> list[Check]:
    """Run the checks; raise StorageValidationFailed (naming what to fix) on the first failure."""
    client = client_or_fail(factory, target, timeout_s=timeout_s)
    store = S3Bucket(client, target.bucket, region=target.region, extra_put_args=extra_put_args)
    if access_mode is AccessMode.READ_WRITE:
        try:
            store.head_bucket()
        except S3OperationError as err:
            failure = err
            if err.s3_error == "AccessDenied" and err.http_status == 403:
                real = store.diagnose_bare_error()
                if real and real not in ("AccessDenied", "PermanentRedirect"):
                    failure = S3OperationError(
                        explain(real, "HeadBucket", target.bucket, None, region=target.region),
                        s3_error=real,
                        operation="HeadBucket",
                        bucket=target.bucket,
                    )
            raise _fail(failure) from None
        return [Check("HeadBucket", None, True)]

    token = probe_token or secrets.token_hex(8)
    keys = [probe_key(p, token) for p in prefixes]
    pool = probe_pool()
    futures = {pool.submit(store.put_bytes, key, PROBE_BODY, content_type="text/plain"): key for key in keys}
    try:
        _done, pending = wait(futures, timeout=timeout_s)
        checks: list[Check] = []
        first_error: S3OperationError | None = None
        for fut, key in futures.items():
            if fut in pending:
                probe_err = S3OperationError(
                    explain("EndpointUnreachable", "PutObject", target.bucket, key),
                    s3_error="EndpointUnreachable",
                    operation="PutObject",
                    bucket=target.bucket,
                    key=key,
                )
            else:
                exc = fut.exception()
                if exc is None:
                    checks.append(Check("PutObject", key, True))
                    continue
                if not isinstance(exc, S3OperationError):
                    raise exc
                probe_err = exc
            checks.append(Check("PutObject", key, False, probe_err.s3_error, probe_err.message))
            if first_error is None:
                first_error = probe_err
        if first_error is not None:
            raise _fail(first_error)
        return checks
    finally:
        for fut in futures:
            fut.cancel()  # those not started yet (the others end within the client's timeouts)
