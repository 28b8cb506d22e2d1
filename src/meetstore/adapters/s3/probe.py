"""The `StorageProbe` port: live validation and the deep diagnosis, over the S3 client factory."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from meetstore.adapters.s3.clients import S3ClientFactory
from meetstore.adapters.s3.diagnosis import diagnose_storage
from meetstore.adapters.s3.validation import Check, validate_storage
from meetstore.domain.storage_config import AccessMode
from meetstore.domain.storage_target import S3Target


class S3StorageProbe:
    def __init__(self, s3: S3ClientFactory) -> None:
        self._s3 = s3

    def validate(
        self,
        target: S3Target,
        access_mode: AccessMode,
        prefixes: Sequence[str],
        *,
        timeout_s: float,
        extra_put_args: dict[str, str],
        probe_token: str | None = None,
    ) -> list[Check]:
        return validate_storage(
            self._s3,
            target,
            access_mode,
            list(prefixes),
            timeout_s=timeout_s,
            extra_put_args=extra_put_args,
            probe_token=probe_token,
        )

    def diagnose(
        self,
        target: S3Target,
        prefixes: Sequence[str],
        *,
        timeout_s: float,
        extra_put_args: dict[str, str],
    ) -> list[dict[str, Any]]:
        return diagnose_storage(self._s3, target, list(prefixes), timeout_s=timeout_s, extra_put_args=extra_put_args)
