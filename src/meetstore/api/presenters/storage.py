"""Storage-configuration views → the bodies of /admin/configs (never a credential)."""

from __future__ import annotations

from typing import Any

from meetstore.api.schemas.responses import PrefixesOut, StorageConfigOut, ValidationOut
from meetstore.domain.clock import rfc3339
from meetstore.services.storage_views import StorageConfigView, ValidationReport


def config(v: StorageConfigView) -> StorageConfigOut:
    # The optional features appear only when set: a plain configuration's body has none of them.
    features: dict[str, Any] = {}
    if v.role_arn:
        features.update(
            role_arn=v.role_arn, session_duration_s=v.session_duration_s, external_id=v.external_id
        )
    for name, value in (
        ("server_side_encryption", v.server_side_encryption),
        ("kms_key_id", v.kms_key_id),
        ("webhook_url", v.webhook_url),
    ):
        if value:
            features[name] = value
    if v.health:
        features["health"] = dict(v.health)
    return StorageConfigOut.model_validate(
        {
            "provider": v.provider,
            "bucket_name": v.bucket_name,
            "region": v.region,
            "access_mode": v.access_mode,
            "prefix": v.prefix,
            "prefixes": PrefixesOut(
                audio=v.prefixes.audio,
                video=v.prefixes.video,
                transcript=v.prefixes.transcript,
                metadata=v.prefixes.metadata,
            ),
            "endpoint_url": v.endpoint_url,
            "version": v.version,
            "created_at": rfc3339(v.created_at),
            "updated_at": rfc3339(v.updated_at),
            "validated_at": rfc3339(v.validated_at),
            **features,
        }
    )


def validation(r: ValidationReport) -> ValidationOut:
    body: dict[str, Any] = {"valid": r.valid, "checks": [dict(c) for c in r.checks]}
    if r.access_mode is not None:
        body["access_mode"] = r.access_mode
    return ValidationOut.model_validate(body)
