"""The minimum IAM policy for a storage configuration: exactly its bucket, prefixes and access mode.

What meetstore does with a customer bucket, and the action each needs:
- every upload: `s3:PutObject` (single and multipart parts); `s3:AbortMultipartUpload` and
  `s3:ListMultipartUploadParts` to clean up a multipart upload that failed, on `<prefix>/*`;
- read_write: `s3:GetObject` on `<prefix>/*` (presigned downloads, the transcript), and
  `s3:ListBucket` on the bucket (the HeadBucket check of validation);
- erasure (`allow_erasure`, default true): `s3:DeleteObject`, `s3:DeleteObjectVersion`, and
  `s3:ListBucket` (a bot's files are found by listing its prefix);
- SSE-KMS: `kms:GenerateDataKey` (writes) and `kms:Decrypt` (read_write reads) on the key.
With a role, the trust policy that lets meetstore assume it, with the account's external id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from meetstore.domain.storage_config import AccessMode, required_put_resource

PRINCIPAL_PLACEHOLDER = "arn:aws:iam::<meetstore-aws-account-id>:root"


@dataclass(frozen=True)
class PolicyRequest:
    bucket: str
    prefixes: tuple[str, ...]
    """The distinct effective prefixes (base and per-category)."""
    access_mode: AccessMode
    kms_key_id: str | None = None
    allow_erasure: bool = True
    role_arn: str | None = None


@dataclass(frozen=True)
class PolicyAnswer:
    policy: dict[str, Any]
    notes: tuple[str, ...]
    trust_policy: dict[str, Any] | None = None


def _kms_arn(key: str) -> str:
    return key if key.startswith("arn:") else f"arn:aws:kms:*:*:key/{key}"


def _statement(sid: str, actions: list[str], resources: list[str]) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources}


def minimum_policy(request: PolicyRequest, *, external_id: str, principal_arn: str | None) -> PolicyAnswer:
    """The policy document to attach to the IAM user or role meetstore uses, and what to know."""
    objects = [required_put_resource(request.bucket, p) for p in request.prefixes]
    bucket = [f"arn:aws:s3:::{request.bucket}"]
    read_write = request.access_mode is AccessMode.READ_WRITE
    statements = [
        _statement(
            "MeetstoreWritesRecordings",
            ["s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
            objects,
        )
    ]
    notes = [f"One resource per distinct prefix: {', '.join(p or '(bucket root)' for p in request.prefixes)}."]
    if read_write:
        statements.append(_statement("MeetstoreServesRecordings", ["s3:GetObject"], objects))
    if request.allow_erasure:
        statements.append(
            _statement("MeetstoreErasesRecordings", ["s3:DeleteObject", "s3:DeleteObjectVersion"], objects)
        )
        notes.append("Without the erasure statement, delete_data and retention leave files in the bucket.")
    if read_write or request.allow_erasure:
        why = "the HeadBucket check and erasure's listing" if read_write else "erasure's listing of a bot's prefix"
        statements.append(_statement("MeetstoreListsTheBucket", ["s3:ListBucket"], bucket))
        notes.append(f"s3:ListBucket on the bucket is for {why}.")
    if request.kms_key_id:
        actions = ["kms:GenerateDataKey", *(["kms:Decrypt"] if read_write else [])]
        statements.append(_statement("MeetstoreUsesTheKey", actions, [_kms_arn(request.kms_key_id)]))
    if not read_write:
        notes.append("write_only: meetstore never reads the files; read them from the bucket yourself.")
    trust = None
    if request.role_arn:
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": principal_arn or PRINCIPAL_PLACEHOLDER},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"sts:ExternalId": external_id}},
                }
            ],
        }
        notes.append("Attach the policy to the role; put the trust policy on the role (it names your external id).")
        if principal_arn is None:
            notes.append("Replace the trust policy's principal with the AWS account meetstore runs in.")
    return PolicyAnswer({"Version": "2012-10-17", "Statement": statements}, tuple(notes), trust)
