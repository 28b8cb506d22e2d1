"""The S3 lifecycle configuration that makes a customer's bucket expire meetstore's objects itself
(API.md "Data lifecycle", `GET /admin/configs/lifecycle_rule`).

S3 counts lifecycle days from an object's creation and only in whole days, so the rule rounds the
retention up: the bucket never expires an object before meetstore's own sweep would.
"""

from __future__ import annotations

from typing import Any

from meetstore.domain.erasure import Retention


class EmptyPrefix(ValueError):
    """A folder is the bucket's root: a rule for it would expire every object in the bucket."""


def lifecycle_configuration(folders: list[str], retention: Retention) -> dict[str, Any]:
    """One rule per folder: expire current objects, non-current versions and abandoned multipart
    uploads after the retention (whole days, rounded up). `retention` must be timed."""
    days = retention.whole_days
    if days is None:
        raise ValueError("a lifecycle rule needs a timed retention")
    if "" in folders:
        raise EmptyPrefix("a prefix is empty")
    return {
        "Rules": [
            {
                "ID": f"meetstore-retention-{n}",
                "Status": "Enabled",
                "Filter": {"Prefix": folder},
                "Expiration": {"Days": days},
                "NoncurrentVersionExpiration": {"NoncurrentDays": days},
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": days},
            }
            for n, folder in enumerate(folders, start=1)
        ]
    }
