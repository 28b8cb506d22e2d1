"""Erasure and retention, as values and rules (API.md "Data lifecycle").

An erasure goes through every place a bot's files may be (the spool, the platform store, the
customer's bucket) and records, per location, what happened there. The record is kept as the
work goes, so an erasure taken over after a crash, or repeated after a `partial` one, touches
only what is not final yet; the receipt is that record, finished.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from meetstore.domain.clock import rfc3339


class ErasureReason(StrEnum):
    REQUEST = "request"
    RETENTION = "retention"


class ErasureScope(StrEnum):
    ALL = "all"
    PLATFORM = "platform"
    """Leave the customer's bucket untouched."""


class ObjectResult(StrEnum):
    DELETED = "deleted"
    DELETE_MARKER = "delete_marker"
    """A versioned bucket kept the object's versions behind a delete marker."""
    NOT_FOUND = "not_found"
    LEFT_IN_BUCKET = "left_in_bucket"


class LeftReason(StrEnum):
    DENIED = "denied"
    SCOPE = "scope"
    NOT_CONFIGURED = "not_configured"


class ErasureState(StrEnum):
    PENDING = "pending"
    DONE = "done"


DELETE_OBJECT = "s3:DeleteObject"
DELETE_OBJECT_VERSION = "s3:DeleteObjectVersion"


@dataclass(frozen=True, slots=True)
class ObjectOutcome:
    """What happened to one object; `s3_error`, `iam_action` and `reason` say why one was left."""

    result: ObjectResult
    s3_error: str | None = None
    iam_action: str | None = None
    reason: LeftReason | None = None

    @property
    def final(self) -> bool:
        """Nothing is left to do for this object, now or on a repeated erasure."""
        return self.result in (ObjectResult.DELETED, ObjectResult.NOT_FOUND)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"result": self.result.value}
        if self.s3_error is not None:
            out["s3_error"] = self.s3_error
        if self.iam_action is not None:
            out["iam_action"] = self.iam_action
        if self.reason is not None:
            out["reason"] = self.reason.value
        return out

    @classmethod
    def of(cls, raw: Mapping[str, Any]) -> ObjectOutcome:
        reason = raw.get("reason")
        return cls(
            ObjectResult(str(raw["result"])),
            s3_error=raw.get("s3_error"),
            iam_action=raw.get("iam_action"),
            reason=LeftReason(str(reason)) if reason is not None else None,
        )


DELETED = ObjectOutcome(ObjectResult.DELETED)
NOT_FOUND = ObjectOutcome(ObjectResult.NOT_FOUND)


def left(reason: LeftReason, s3_error: str | None = None, iam_action: str | None = None) -> ObjectOutcome:
    return ObjectOutcome(ObjectResult.LEFT_IN_BUCKET, s3_error=s3_error, iam_action=iam_action, reason=reason)


def spool_location(name: str) -> str:
    return f"spool:{name}"


def platform_location(key: str) -> str:
    return f"platform:{key}"


def bucket_location(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def progress_of(raw: Mapping[str, Any] | None) -> dict[str, ObjectOutcome]:
    """An erasure's stored record, location → outcome."""
    return {str(loc): ObjectOutcome.of(v) for loc, v in (raw or {}).items() if isinstance(v, Mapping)}


def stored(progress: Mapping[str, ObjectOutcome]) -> dict[str, Any]:
    return {loc: outcome.as_dict() for loc, outcome in progress.items()}


def still_to_do(progress: Mapping[str, ObjectOutcome]) -> dict[str, ObjectOutcome]:
    """What a repeated erasure starts from: the final outcomes, kept; the rest tried again."""
    return {loc: o for loc, o in progress.items() if o.final}


def receipt_status(progress: Mapping[str, ObjectOutcome]) -> str:
    return "deleted" if all(o.final for o in progress.values()) else "partial"


def receipt(
    progress: Mapping[str, ObjectOutcome],
    *,
    requested_at: datetime,
    finished_at: datetime,
    reason: ErasureReason,
    scope: ErasureScope,
    spool_key_destroyed: bool,
) -> dict[str, Any]:
    """The receipt of API.md: every location with what happened to it, in a stable order, and
    whether the bot's spool key was destroyed (what any copy of its spooled files, in a backup
    too, was sealed under: `destroyed`; `none` when the bot never spooled a file)."""
    return {
        "status": receipt_status(progress),
        "requested_at": rfc3339(requested_at),
        "finished_at": rfc3339(finished_at),
        "reason": reason.value,
        "scope": scope.value,
        "objects": [{"location": loc, **progress[loc].as_dict()} for loc in sorted(progress)],
        "spool_key": "destroyed" if spool_key_destroyed else "none",
    }


# --- retention -------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Retention:
    """How long a bot's media is kept after hand-in; `hours` None: forever."""

    hours: float | None

    @property
    def forever(self) -> bool:
        return self.hours is None

    def as_dict(self) -> dict[str, Any]:
        if self.hours is None:
            return {"type": "forever"}
        return {"type": "timed", "hours": self.hours}

    def expires_at(self, start: datetime) -> datetime | None:
        return None if self.hours is None else start + timedelta(hours=self.hours)

    @property
    def whole_days(self) -> int | None:
        """The hours as whole days, rounded up (what an S3 lifecycle rule can say)."""
        return None if self.hours is None else max(1, math.ceil(self.hours / 24))


FOREVER = Retention(None)


class InvalidRetention(ValueError):
    """Not a retention policy; the message says what is wrong."""


def parse_retention(value: object) -> Retention:
    """`{"type": "timed", "hours": H}` (H > 0, fractions allowed), `{"type": "forever"}`, or a bare
    number of hours."""
    if isinstance(value, bool):
        raise InvalidRetention('must be {"type": "timed", "hours": H}, {"type": "forever"} or a number of hours')
    if isinstance(value, int | float):
        return _timed(value)
    if not isinstance(value, Mapping):
        raise InvalidRetention('must be {"type": "timed", "hours": H}, {"type": "forever"} or a number of hours')
    kind = value.get("type")
    extra = set(value) - {"type", "hours"}
    if extra:
        raise InvalidRetention(f"unknown field(s): {', '.join(sorted(map(str, extra)))}")
    if kind == "forever":
        if "hours" in value:
            raise InvalidRetention('"forever" takes no hours')
        return FOREVER
    if kind == "timed":
        hours = value.get("hours")
        if isinstance(hours, bool) or not isinstance(hours, int | float):
            raise InvalidRetention("hours must be a number greater than 0")
        return _timed(hours)
    raise InvalidRetention('type must be "timed" or "forever"')


MAX_RETENTION_HOURS = 100 * 365 * 24


def _timed(hours: float) -> Retention:
    if not math.isfinite(hours) or hours <= 0:
        raise InvalidRetention("hours must be a number greater than 0")
    if hours > MAX_RETENTION_HOURS:
        raise InvalidRetention(f"hours must be at most {MAX_RETENTION_HOURS} (100 years); use forever")
    return Retention(float(hours))


def effective_retention(
    requested: object, account_default: object, platform_default_hours: float | None
) -> Retention:
    """The bot's own policy, else its account's default, else the platform's (unset: forever).
    Stored policies were validated when saved; one that no longer parses counts as absent."""
    for candidate in (requested, account_default):
        if candidate is None:
            continue
        try:
            return parse_retention(candidate)
        except InvalidRetention:
            continue
    return FOREVER if platform_default_hours is None else _timed(platform_default_hours)
