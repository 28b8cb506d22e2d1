"""Storage health: re-validate configurations on a schedule and before uploads (extension).

A check runs the same live checks as saving (HeadBucket, or one probe per prefix at a fixed key
`{p}/.write_probe_health` so hourly checks leave no litter) with the stored credentials. The result
shows in GET /admin/configs as `health`; a change to unhealthy queues `storage.unhealthy` to the
configuration's `webhook_url`.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from meetstore.config import Settings
from meetstore.domain.audit import SYSTEM
from meetstore.domain.clock import rfc3339
from meetstore.domain.ports import Metrics, StorageProbe
from meetstore.domain.repositories import Transactions
from meetstore.domain.storage_target import put_args_of
from meetstore.errors import StorageValidationFailed
from meetstore.services.audit import AuditTrail
from meetstore.services.events import payload
from meetstore.services.storage_config import StorageConfigService

log = logging.getLogger("meetstore.health")


class StorageHealth:
    def __init__(
        self,
        tx: Transactions,
        settings: Settings,
        probe: StorageProbe,
        storage: StorageConfigService,
        metrics: Metrics,
        audit: AuditTrail,
    ) -> None:
        self._audit = audit
        self._tx = tx
        self._metrics = metrics
        self._settings = settings
        self._probe = probe
        self._storage = storage
        self._memo: dict[str, float] = {}
        self._memo_lock = threading.Lock()

    def check(self, account_id: str) -> dict[str, Any] | None:
        """Validate the configuration in force now; record and return its health (None: no config)."""
        active = self._storage.active(account_id)
        if active is None:
            return None
        now = datetime.now(UTC)
        result: dict[str, Any] = {"status": "healthy", "checked_at": rfc3339(now)}
        started = time.monotonic()
        try:
            self._probe.validate(
                active.target,
                active.current.access_mode,
                active.prefixes.distinct(active.prefix),
                timeout_s=self._settings.validation_timeout_s,
                extra_put_args=put_args_of(active.extra),
                probe_token="health",
            )
        except StorageValidationFailed as exc:
            result.update(
                status="unhealthy",
                s3_error=exc.details.get("s3_error"),
                operation=exc.details.get("operation"),
                message=exc.message,
            )
        self._metrics.validation_ran("health", result["status"] == "healthy", time.monotonic() - started)
        with self._tx.write() as tx:
            row = tx.storage_configs.get(account_id, lock=True)
            if row is None or row.version != active.current.version:
                return result  # replaced meanwhile: this result is about a configuration gone
            extra = dict(row.extra or {})
            was = (extra.get("health") or {}).get("status")
            extra["health"] = result
            row.extra = extra
            # A change, or a first check that finds it broken (saving it had found it healthy).
            if was != result["status"] and (was is not None or result["status"] != "healthy"):
                self._audit.record(
                    tx,
                    account_id,
                    "storage.health_changed",
                    detail={
                        "from": was or "healthy",
                        "to": result["status"],
                        "bucket_name": row.bucket_name,
                        **{k: result[k] for k in ("s3_error", "operation") if result.get(k)},
                    },
                    actor=SYSTEM,
                )
            if result["status"] == "unhealthy" and was != "unhealthy" and extra.get("webhook_url"):
                body = payload(
                    None,
                    "storage.unhealthy",
                    message=str(result["message"]),
                    status_code=400,
                    now=now,
                    extra={
                        "account_id": account_id,
                        "bucket": row.bucket_name,
                        "s3_error": result.get("s3_error"),
                        "operation": result.get("operation"),
                    },
                )
                tx.webhook_events.add(
                    account_id=account_id,
                    bot_id=None,
                    event="storage.unhealthy",
                    callback_url=str(extra["webhook_url"]),
                    body=json.dumps(body, separators=(",", ":")),
                    now=now,
                )
        if result["status"] == "unhealthy":
            log.warning("storage of account %s is unhealthy: %s", account_id, result.get("s3_error"))
        return result

    def ensure_recent(self, account_id: str) -> dict[str, Any] | None:
        """Before an upload: the last health result if recent enough, else a fresh check."""
        now = time.monotonic()
        with self._memo_lock:
            last = self._memo.get(account_id)
            if last is not None and now - last < self._settings.health_check_max_age_s:
                return None  # checked moments ago in this process: no database read either
            self._memo[account_id] = now
        active = self._storage.active(account_id)
        if active is None:
            return None
        health = active.extra.get("health") or {}
        checked = health.get("checked_at")
        if checked:
            at = datetime.fromisoformat(str(checked).replace("Z", "+00:00"))
            if datetime.now(UTC) - at < timedelta(seconds=self._settings.health_check_max_age_s):
                return dict(health)
        return self.check(account_id)

    def check_all(self) -> int:
        with self._tx.read() as tx:
            ids = tx.storage_configs.account_ids()
        for account_id in ids:
            try:
                self.check(account_id)
            except Exception as exc:  # one bad configuration must not stop the others
                log.error("health check of account %s failed: %s", account_id, type(exc).__name__)
        return len(ids)
