"""Deleting a bot's objects from a bucket, reporting per key what happened (API.md "Data
lifecycle"): DeleteObjects in batches of 1000; on a versioned bucket (S3 answers a delete marker)
every version of the key is deleted too, where the policy grants s3:DeleteObjectVersion."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from meetstore.adapters.s3.errors import translate
from meetstore.domain.erasure import (
    DELETE_OBJECT,
    DELETE_OBJECT_VERSION,
    DELETED,
    NOT_FOUND,
    LeftReason,
    ObjectOutcome,
    ObjectResult,
    left,
)
from meetstore.errors import S3OperationError

BATCH = 1000
"""The most keys one DeleteObjects call takes."""


def keys_under(client: Any, bucket: str, prefix: str, *, region: str) -> set[str] | None:
    """Every key under `prefix` (ListObjectsV2, paginated); None when the policy does not allow
    listing. Transient errors raise S3OperationError."""
    found: set[str] = set()
    params: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
    while True:
        try:
            resp = client.list_objects_v2(**params)
        except Exception as exc:
            err = translate(exc, operation="ListObjectsV2", bucket=bucket, region=region)
            if err.transient:
                raise err from None
            return None
        found.update(str(o["Key"]) for o in resp.get("Contents", []) or [])
        if not resp.get("IsTruncated"):
            return found
        params["ContinuationToken"] = resp.get("NextContinuationToken")


def delete_objects(client: Any, bucket: str, keys: Sequence[str], *, region: str) -> dict[str, ObjectOutcome]:
    """Delete `keys`; each key's outcome. A refused call or key is `left_in_bucket` (denied) with
    the S3 error and the IAM action to grant; a transient failure raises S3OperationError."""
    out: dict[str, ObjectOutcome] = {}
    versioned: list[str] = []
    for start in range(0, len(keys), BATCH):
        batch = list(keys[start : start + BATCH])
        try:
            resp = client.delete_objects(
                Bucket=bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": False}
            )
        except Exception as exc:
            err = translate(exc, operation="DeleteObjects", bucket=bucket, region=region)
            if err.transient:
                raise err from None
            out.update({k: left(LeftReason.DENIED, err.s3_error, DELETE_OBJECT) for k in batch})
            continue
        for item in resp.get("Deleted", []) or []:
            key = str(item.get("Key"))
            if item.get("DeleteMarker"):
                versioned.append(key)
            else:
                out[key] = DELETED
        for item in resp.get("Errors", []) or []:
            key = str(item.get("Key"))
            code = str(item.get("Code") or "AccessDenied")
            out[key] = left(LeftReason.DENIED, code, DELETE_OBJECT)
    for key in versioned:
        out[key] = _delete_versions(client, bucket, key, region=region)
    for key in keys:
        out.setdefault(key, NOT_FOUND)
    return out


def _delete_versions(client: Any, bucket: str, key: str, *, region: str) -> ObjectOutcome:
    """Every version (and delete marker) of `key`; `delete_marker` when the policy refuses."""
    marker = ObjectOutcome(ObjectResult.DELETE_MARKER, iam_action=DELETE_OBJECT_VERSION)
    try:
        versions = _versions_of(client, bucket, key)
    except S3OperationError as err:
        if err.transient:
            raise
        return ObjectOutcome(ObjectResult.DELETE_MARKER, s3_error=err.s3_error, iam_action="s3:ListBucketVersions")
    if not versions:
        return DELETED
    try:
        resp = client.delete_objects(
            Bucket=bucket,
            Delete={"Objects": [{"Key": key, "VersionId": v} for v in versions], "Quiet": False},
        )
    except Exception as exc:
        refused = translate(exc, operation="DeleteObjects", bucket=bucket, key=key, region=region)
        if refused.transient:
            raise refused from None
        return ObjectOutcome(marker.result, s3_error=refused.s3_error, iam_action=DELETE_OBJECT_VERSION)
    errors = resp.get("Errors", []) or []
    if errors:
        return ObjectOutcome(
            marker.result, s3_error=str(errors[0].get("Code") or "AccessDenied"), iam_action=DELETE_OBJECT_VERSION
        )
    return DELETED


def _versions_of(client: Any, bucket: str, key: str) -> list[str]:
    found: list[str] = []
    params: dict[str, Any] = {"Bucket": bucket, "Prefix": key}
    while True:
        try:
            resp = client.list_object_versions(**params)
        except Exception as exc:
            raise translate(exc, operation="ListObjectVersions", bucket=bucket, key=key) from None
        for group in ("Versions", "DeleteMarkers"):
            found.extend(str(v["VersionId"]) for v in resp.get(group, []) or [] if v.get("Key") == key)
        if not resp.get("IsTruncated"):
            return found
        params["KeyMarker"] = resp.get("NextKeyMarker")
        params["VersionIdMarker"] = resp.get("NextVersionIdMarker")
