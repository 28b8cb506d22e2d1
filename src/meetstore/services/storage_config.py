"""Configure custom S3 storage: validate live, then save (credentials sealed), get, delete."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import SecretStr

from meetstore.adapters.net_guard import check_url_allowed
from meetstore.config import Settings
from meetstore.domain.clock import SystemClock
from meetstore.domain.ports import Metrics, SecretBox, StorageProbe, Stores
from meetstore.domain.repositories import Transactions
from meetstore.domain.storage_config import AccessMode, Category, CategoryPrefixes, effective_prefixes
from meetstore.domain.storage_target import (
    ACCESS_KEY_PURPOSE,
    SECRET_KEY_PURPOSE,
    ActiveStorage,
    Credentials,
    PlainCredentials,
    RoleCredentials,
    S3Target,
    active_of,
    put_args_of,
    role_account,
)
from meetstore.errors import InvalidRequest, StorageNotConfigured, StorageValidationFailed, Unavailable
from meetstore.services.audit import AuditTrail
from meetstore.services.changes import STORAGE
from meetstore.services.storage_views import StorageConfigView, ValidationReport
from meetstore.services.validation_gate import ValidationGate

log = logging.getLogger("meetstore.storage")


@dataclass(frozen=True)
class StorageConfigInput:
    """A validated request body (schema checks done at the edge; prefixes already normalised)."""

    bucket_name: str
    region: str
    access_key_id: SecretStr | None
    secret_key: SecretStr | None
    access_mode: AccessMode = AccessMode.READ_WRITE
    prefix: str = "meetstream"
    prefixes: dict[Category, str] = field(default_factory=dict)
    endpoint_url: str | None = None
    provider: str = "aws"
    role_arn: str | None = None
    session_duration_s: int = 3600
    server_side_encryption: str | None = None
    kms_key_id: str | None = None
    webhook_url: str | None = None

    def effective(self) -> CategoryPrefixes:
        return effective_prefixes(self.prefix, self.prefixes)

    def extra(self) -> dict[str, Any]:
        """The optional features, as stored in StorageConfigRow.extra."""
        out: dict[str, Any] = {}
        if self.role_arn:
            out["role_arn"] = self.role_arn
            out["session_duration_s"] = self.session_duration_s
        if self.server_side_encryption:
            out["server_side_encryption"] = self.server_side_encryption
            if self.kms_key_id:
                out["kms_key_id"] = self.kms_key_id
        if self.webhook_url:
            out["webhook_url"] = self.webhook_url
        return out

    def __repr__(self) -> str:
        return f"StorageConfigInput(bucket_name={self.bucket_name!r}, access_mode={self.access_mode.value!r})"

    def audited(self) -> dict[str, Any]:
        """What the audit trail records of it: where and how, never a credential."""
        out: dict[str, Any] = {
            "bucket_name": self.bucket_name,
            "region": self.region,
            "access_mode": self.access_mode.value,
            "prefixes": self.effective().as_dict(),
            "credentials": "role_arn" if self.role_arn else "access_key",
        }
        if self.endpoint_url:
            out["endpoint_url"] = self.endpoint_url
        if self.role_arn:
            out["role_arn"] = self.role_arn
        if self.server_side_encryption:
            out["server_side_encryption"] = self.server_side_encryption
        return out


class StorageConfigService:
    def __init__(
        self,
        tx: Transactions,
        box: SecretBox,
        probe: StorageProbe,
        stores: Stores,
        metrics: Metrics,
        settings: Settings,
        gate: ValidationGate,
        audit: AuditTrail,
        clock: SystemClock | None = None,
    ) -> None:
        self._audit = audit
        self._gate = gate
        self._tx = tx
        self._box = box
        self._probe = probe
        self._stores = stores
        self._metrics = metrics
        self._settings = settings
        self._clock = clock or SystemClock()
        self._on_changed: list[Callable[[str], None]] = []

    def _check_urls(self, data: StorageConfigInput) -> None:
        """The SSRF guard for every URL of the configuration, and the role's account, before any
        connection is made."""
        if data.role_arn and role_account(data.role_arn) in self._settings.platform_account_ids:
            raise InvalidRequest(
                "role_arn names a role in meetstore's own AWS account; name a role in your account.",
                [{"field": "role_arn", "message": "a role of the platform's own AWS account"}],
            )
        allow = self._settings.allow_private_endpoints
        if data.endpoint_url:
            check_url_allowed(data.endpoint_url, "endpoint_url", allow_private=allow)
        if data.webhook_url:
            check_url_allowed(data.webhook_url, "webhook_url", allow_private=allow)

    def validate(self, account_id: str, data: StorageConfigInput) -> ValidationReport:
        """Run the live checks for `data`; raise StorageValidationFailed. Saves nothing (but the
        audit entry of the outcome)."""
        self._check_urls(data)
        try:
            report = self._gate.run(
                account_id, lambda: self._validate(account_id, data), bucket=data.bucket_name
            )
        except StorageValidationFailed as exc:
            self._audited_check(account_id, data, False, exc)
            raise
        self._audited_check(account_id, data, True)
        return report

    def _audited_check(
        self,
        account_id: str,
        data: StorageConfigInput,
        valid: bool,
        exc: StorageValidationFailed | None = None,
    ) -> None:
        detail: dict[str, Any] = {**data.audited(), "valid": valid}
        if exc is not None:
            detail.update({k: exc.details[k] for k in ("s3_error", "operation", "key") if k in exc.details})
        self._audit.record_now(account_id, "storage.validated", detail=detail)

    def _validate(self, account_id: str, data: StorageConfigInput) -> ValidationReport:
        started = time.monotonic()
        try:
            checks = self._probe.validate(
                self._target_for(account_id, data),
                data.access_mode,
                data.effective().distinct(data.prefix),
                timeout_s=self._settings.validation_timeout_s,
                extra_put_args=put_args_of(data.extra()),
            )
        except StorageValidationFailed:
            self._metrics.validation_ran("save", False, time.monotonic() - started)
            raise
        self._metrics.validation_ran("save", True, time.monotonic() - started)
        return ValidationReport(valid=True, checks=tuple(c.as_dict() for c in checks))

    def diagnose(self, account_id: str, data: StorageConfigInput) -> ValidationReport:
        """The deep check: per prefix, every operation meetstore uses, with what IAM is missing."""
        self._check_urls(data)
        report = self._gate.run(account_id, lambda: self._diagnose(account_id, data), bucket=data.bucket_name)
        failed = [f"{r.get('check')} {r.get('prefix', '')}".strip() for r in report.checks if not r.get("ok")]
        self._audit.record_now(
            account_id,
            "storage.validated",
            detail={**data.audited(), "valid": report.valid, "deep": True, "failed": failed},
        )
        return report

    def _diagnose(self, account_id: str, data: StorageConfigInput) -> ValidationReport:
        started = time.monotonic()
        rows = self._probe.diagnose(
            self._target_for(account_id, data),
            data.effective().distinct(data.prefix),
            timeout_s=self._settings.validation_timeout_s,
            extra_put_args=put_args_of(data.extra()),
        )
        needed = {"read_write": ("PutObject", "GetObject", "PresignedGet"), "write_only": ("PutObject",)}
        required = needed[data.access_mode.value]
        ok = all(r["ok"] for r in rows if r["check"] in required or r["check"] == "AssumeRole")
        self._metrics.validation_ran("diagnosis", ok, time.monotonic() - started)
        return ValidationReport(valid=ok, checks=tuple(rows), access_mode=data.access_mode.value)

    def _target_for(self, account_id: str, data: StorageConfigInput) -> S3Target:
        creds: Credentials
        if data.role_arn:
            creds = RoleCredentials(data.role_arn, self.external_id(account_id), data.session_duration_s)
        else:
            assert data.access_key_id is not None and data.secret_key is not None
            creds = PlainCredentials(data.access_key_id, data.secret_key)
        return S3Target(
            cache_key=(account_id, -1),
            bucket=data.bucket_name,
            region=data.region,
            endpoint_url=data.endpoint_url,
            credentials=creds,
        )

    def external_id(self, account_id: str) -> str:
        """The account's random sts:ExternalId, generated on first use and then fixed."""
        with self._tx.write() as tx:
            acct = tx.accounts.get(account_id, lock=True)
            assert acct is not None
            if not acct.external_id:
                acct.external_id = "ms-ext-" + secrets.token_urlsafe(24)
            return acct.external_id

    def put(self, account_id: str, data: StorageConfigInput) -> StorageConfigView:
        """Validate, then replace the configuration in one transaction. A failure changes nothing."""
        self.validate(account_id, data)
        now = self._clock.now()
        eff = data.effective()
        with self._tx.write() as tx:
            acct = tx.accounts.get(account_id, lock=True)
            assert acct is not None
            acct.storage_version_seq += 1
            found = tx.storage_configs.get(account_id)
            row = found or tx.storage_configs.new(account_id)
            created_at = found.created_at if found is not None else now
            row.version = acct.storage_version_seq
            row.provider = data.provider
            row.bucket_name = data.bucket_name
            row.region = data.region
            row.endpoint_url = data.endpoint_url
            row.access_mode = data.access_mode.value
            row.prefix = data.prefix
            row.prefix_audio = eff.audio
            row.prefix_video = eff.video
            row.prefix_transcript = eff.transcript
            row.prefix_metadata = eff.metadata
            if data.access_key_id is not None and data.secret_key is not None:
                row.access_key_id_ct = self._box.seal(
                    data.access_key_id.get_secret_value(), account_id=account_id, purpose=ACCESS_KEY_PURPOSE
                )
                row.secret_key_ct = self._box.seal(
                    data.secret_key.get_secret_value(), account_id=account_id, purpose=SECRET_KEY_PURPOSE
                )
            else:
                row.access_key_id_ct = None
                row.secret_key_ct = None
            row.extra = data.extra()
            row.created_at = created_at
            row.updated_at = now
            row.validated_at = now
            tx.changes.record(account_id, STORAGE, now)  # other processes drop the old clients
            self._audit.record(
                tx, account_id, "storage.saved", detail={**data.audited(), "version": row.version}
            )
            tx.flush()
            view = StorageConfigView.of(row, acct.external_id)
        self._changed(account_id)
        if found is not None:
            self._scrub()  # the replaced credentials
        return view

    def on_changed(self, listener: Callable[[str], None]) -> None:
        """Call `listener(account_id)` in this process right after a save or delete commits
        (other processes learn it from the change feed)."""
        self._on_changed.append(listener)

    def _changed(self, account_id: str) -> None:
        self._stores.forget(account_id)
        for listener in self._on_changed:
            listener(account_id)

    def get(self, account_id: str) -> StorageConfigView | None:
        with self._tx.read() as tx:
            found = tx.storage_configs.with_external_id(account_id)
            return None if found is None else StorageConfigView.of(*found)

    def delete(self, account_id: str) -> None:
        """Remove the configuration and erase its sealed credentials; bucket contents are untouched."""
        with self._tx.write() as tx:
            row = tx.storage_configs.get(account_id)
            if row is None:
                raise StorageNotConfigured("No storage configuration is set for this account.")
            tx.storage_configs.delete(row)
            tx.changes.record(account_id, STORAGE, self._clock.now())
            self._audit.record(
                tx,
                account_id,
                "storage.deleted",
                detail={"bucket_name": row.bucket_name, "version": row.version},
            )
        self._changed(account_id)
        self._scrub()

    def _scrub(self) -> None:
        try:
            self._tx.scrub()
        except Unavailable:
            log.warning("erased credentials stay in the database's write-ahead log until its next checkpoint")

    def active(self, account_id: str) -> ActiveStorage | None:
        with self._tx.read() as tx:
            found = tx.storage_configs.with_external_id(account_id)
            return None if found is None else active_of(*found)
