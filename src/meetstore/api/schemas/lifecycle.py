"""Response models of the data lifecycle (API.md "Data lifecycle"): receipts, retention."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class ReceiptObjectOut(_Open):
    location: str = Field(description="`s3://bucket/key`, `platform:key` or `spool:name`.")
    result: Literal["deleted", "delete_marker", "not_found", "left_in_bucket"]
    s3_error: str | None = None
    iam_action: str | None = None
    reason: Literal["denied", "scope", "not_configured"] | None = None


class ReceiptOut(_Open):
    status: Literal["deleted", "partial"]
    requested_at: str
    finished_at: str
    reason: Literal["request", "retention"]
    scope: Literal["all", "platform"]
    objects: list[ReceiptObjectOut]


class DeletingOut(_Open):
    """An erasure still under way (in `detail`)."""

    status: Literal["deleting"]
    requested_at: str | None


class DeletedOut(_Open):
    success: bool
    message: str
    bot_id: str
    deletion: ReceiptOut


class DeletionAcceptedOut(_Open):
    success: bool
    status: Literal["deleting"]
    bot_id: str


class RetentionOut(_Open):
    type: Literal["timed", "forever"]
    hours: float | None = None
    expires_at: str | None = None


class RetentionConfigOut(_Open):
    type: Literal["timed", "forever"]
    hours: float | None = None


class LifecycleRuleOut(_Open):
    Rules: list[dict[str, Any]]
