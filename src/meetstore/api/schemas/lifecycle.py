"""Models of the data lifecycle (API.md "Data lifecycle"): receipts, retention, lifecycle rules."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from meetstore.domain.erasure import MAX_RETENTION_HOURS, InvalidRetention, Retention, parse_retention


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

    @model_serializer(mode="wrap")
    def _without_hours_for_forever(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        out: dict[str, Any] = handler(self)
        if out.get("hours") is None:
            out.pop("hours", None)
        return out


class LifecycleRuleOut(_Open):
    Rules: list[dict[str, Any]]


class RetentionConfigIn(BaseModel):
    """PUT /admin/configs?config_type=retention: the account's default retention."""

    model_config = ConfigDict(extra="forbid", strict=True)

    type: Literal["timed", "forever"]
    hours: float | None = Field(
        default=None, gt=0, le=MAX_RETENTION_HOURS, description="Required for `timed`; fractions allowed."
    )

    @model_validator(mode="after")
    def _whole(self) -> RetentionConfigIn:
        try:
            self.policy()
        except InvalidRetention as exc:
            raise ValueError(str(exc)) from None
        return self

    def policy(self) -> Retention:
        return parse_retention(self.model_dump(exclude_none=True))
