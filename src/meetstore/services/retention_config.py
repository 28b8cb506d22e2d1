"""An account's default retention (`PUT/GET/DELETE /admin/configs?config_type=retention`) and the S3
lifecycle rule that would make the customer's bucket enforce it."""

from __future__ import annotations

from typing import Any

from meetstore.config import Settings
from meetstore.domain.erasure import FOREVER, Retention, effective_retention
from meetstore.domain.key_layout import category_folders
from meetstore.domain.lifecycle_rule import EmptyPrefix, lifecycle_configuration
from meetstore.domain.repositories import Transactions
from meetstore.domain.storage_config import CategoryPrefixes
from meetstore.errors import NoRetention, PrefixRequired, RetentionNotConfigured, StorageNotConfigured
from meetstore.services.audit import AuditTrail


class RetentionConfigService:
    def __init__(self, tx: Transactions, settings: Settings, audit: AuditTrail) -> None:
        self._tx = tx
        self._settings = settings
        self._audit = audit

    def put(self, account_id: str, policy: Retention) -> Retention:
        """The account's default from now on; bots already handed in keep the policy they were
        pinned to."""
        with self._tx.write() as tx:
            account = tx.accounts.get(account_id, lock=True)
            if account is None:
                raise RetentionNotConfigured("No such account.")
            account.retention = policy.as_dict()
            self._audit.record(tx, account_id, "retention.saved", detail=policy.as_dict())
        return policy

    def get(self, account_id: str) -> Retention | None:
        with self._tx.read() as tx:
            account = tx.accounts.get(account_id)
            raw = None if account is None else account.retention
        return None if raw is None else effective_retention(None, raw, None)

    def delete(self, account_id: str) -> None:
        with self._tx.write() as tx:
            account = tx.accounts.get(account_id, lock=True)
            if account is None or account.retention is None:
                raise RetentionNotConfigured("No retention default is set for this account.")
            account.retention = None
            self._audit.record(tx, account_id, "retention.deleted")

    def lifecycle_rule(self, account_id: str) -> dict[str, Any]:
        """The LifecycleConfiguration for the configured bucket's prefixes and the account's
        default retention (its own, else the platform's)."""
        with self._tx.read() as tx:
            account = tx.accounts.get(account_id)
            row = tx.storage_configs.get(account_id)
            default = effective_retention(
                None, None if account is None else account.retention, self._settings.default_retention_hours
            )
            if row is None:
                raise StorageNotConfigured("No storage configuration is set for this account.")
            prefixes = CategoryPrefixes(
                audio=row.prefix_audio,
                video=row.prefix_video,
                transcript=row.prefix_transcript,
                metadata=row.prefix_metadata,
            )
        if default == FOREVER:
            raise NoRetention(
                "This account keeps media forever (no retention default): there is no expiry for a rule to say."
            )
        try:
            return lifecycle_configuration(category_folders(prefixes), default)
        except EmptyPrefix:
            raise PrefixRequired(
                "A category's prefix is empty, so a rule would expire every object in the bucket; "
                "configure prefixes first."
            ) from None
