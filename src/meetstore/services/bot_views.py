"""What the bot endpoints answer, as typed values read out of a bot's rows; `api/presenters/bots.py`
renders them. A value is a copy taken inside the read, so it outlives the transaction."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from meetstore.domain.artifacts import BotStatus
from meetstore.domain.clock import rfc3339
from meetstore.domain.records import ArtifactRecord, BotRecord, WebhookEventRecord


@dataclass(frozen=True, slots=True)
class StorageLocation:
    """Where a bot's files were written: its pin, fixed when it left."""

    kind: str
    bucket: str | None
    region: str | None
    endpoint_url: str | None
    prefixes: dict[str, str]


def stored_location(bot: BotRecord) -> StorageLocation | None:
    """The bot's pin, or None before it left."""
    if bot.pin_kind is None:
        return None
    return StorageLocation(
        kind=bot.pin_kind,
        bucket=bot.pin_bucket,
        region=bot.pin_region,
        endpoint_url=bot.pin_endpoint_url,
        prefixes={str(k): str(v) for k, v in (bot.pin_prefixes or {}).items()},
    )


@dataclass(frozen=True, slots=True)
class NewBotView:
    """create_bot's answer; an Idempotency-Key replay answers exactly this again."""

    bot_id: str
    transcript_id: str
    meeting_url: str
    status: str


@dataclass(frozen=True, slots=True)
class BotSummary:
    bot_id: str
    transcript_id: str
    meeting_url: str
    bot_name: str
    status: str
    created_at: datetime
    updated_at: datetime | None
    custom_attributes: Any
    location: StorageLocation | None = None
    uploads: dict[str, int] | None = None
    """Upload state → how many of its files are in it (in lists; None elsewhere)."""

    @classmethod
    def of(cls, bot: BotRecord, uploads: dict[str, int] | None = None) -> BotSummary:
        return cls(
            bot_id=bot.id,
            transcript_id=bot.transcript_id,
            meeting_url=bot.meeting_link,
            bot_name=bot.bot_name,
            status=bot.status,
            created_at=bot.created_at,
            updated_at=bot.updated_at,
            custom_attributes=(bot.options or {}).get("custom_attributes"),
            location=stored_location(bot),
            uploads=uploads,
        )


@dataclass(frozen=True, slots=True)
class BotPage:
    bots: tuple[BotSummary, ...]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class BotState:
    bot_id: str
    status: str


@dataclass(frozen=True, slots=True)
class StoredFile:
    """One artifact: where it goes and how its upload stands (with the last S3 error)."""

    kind: str
    key: str
    size: int
    content_type: str
    state: str
    attempts: int
    s3_error: str | None
    operation: str | None
    message: str | None
    sha256: str | None = None

    @classmethod
    def of(cls, a: ArtifactRecord) -> StoredFile:
        return cls(
            kind=a.kind,
            key=a.key,
            size=a.size,
            content_type=a.content_type,
            state=a.state,
            attempts=a.attempts,
            s3_error=a.last_error_code,
            operation=a.last_error_operation,
            message=a.last_error_message,
            sha256=a.sha256,
        )


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    event: str
    state: str
    attempts: int
    last_status: int | None

    @classmethod
    def of(cls, w: WebhookEventRecord) -> WebhookDelivery:
        return cls(event=w.event, state=w.state, attempts=w.attempts, last_status=w.last_status)


@dataclass(frozen=True, slots=True)
class BotDetail:
    summary: BotSummary
    transcript_provider: str
    callback_url: str | None
    video_required: bool
    audio_separate_streams: bool
    runtime: str
    left_at: datetime | None
    done_at: datetime | None
    options: dict[str, Any]
    location: StorageLocation | None
    artifacts: tuple[StoredFile, ...]
    webhooks: tuple[WebhookDelivery, ...]
    lifecycle: Lifecycle
    paused: bool = False
    """The recording is paused now (pause_recording without resume_recording yet)."""
    pauses: tuple[dict[str, Any], ...] = ()
    """The recording's paused spans, {"start", "end"} in seconds (known once the bot left)."""
    meetstream: MeetStreamDetails | None = None


@dataclass(frozen=True, slots=True)
class Lifecycle:
    """A bot's retention and erasure, as detail shows them."""

    retention: dict[str, Any] | None
    """{"type", "hours", "expires_at"} pinned at hand-in; None before."""
    deletion: dict[str, Any] | None
    """The receipt, or {"status": "deleting"} while the erasure runs."""
    deleted_at: datetime | None
    expired_at: datetime | None

    @classmethod
    def of(cls, bot: BotRecord, erasing: bool) -> Lifecycle:
        retention = None
        if bot.pinned_at is not None:
            retention = {
                "type": "forever" if bot.retention_hours is None else "timed",
                "hours": bot.retention_hours,
                "expires_at": rfc3339(bot.retention_expires_at),
            }
        deletion = bot.deletion
        if erasing:
            deletion = {"status": "deleting", "requested_at": rfc3339(bot.deletion_requested_at)}
        expired = bot.deletion_reason == "retention" and bot.deletion_requested_at is not None
        return cls(
            retention=retention,
            deletion=deletion,
            deleted_at=bot.deletion_requested_at if bot.deletion_requested_at is not None and not expired else None,
            expired_at=bot.retention_expires_at if expired else None,
        )


class Removal(enum.Enum):
    """What remove_bot did: the recording is kept in every case."""

    LEAVING = "leaving"
    ALREADY_LEAVING = "already_leaving"
    ALREADY_LEFT = "already_left"


@dataclass(frozen=True, slots=True)
class Removed:
    bot_id: str
    status: str
    removal: Removal


def platform_of(meeting_link: str) -> str:
    """The meeting platform of a link, as MeetStream names it."""
    host = (urlsplit(meeting_link).hostname or "").lower()
    if host == "zoom.us" or host.endswith(".zoom.us"):
        return "zoom"
    if host == "meet.google.com":
        return "google_meet"
    if host in ("teams.microsoft.com", "teams.live.com"):
        return "teams"
    return "unknown"


@dataclass(frozen=True, slots=True)
class MeetStreamDetails:
    """`detail`'s `bot_details`: the bot in MeetStream's own shape and names."""

    bot_id: str
    status: str
    timeline: tuple[tuple[str, datetime], ...]
    """(status, when first reached), oldest first; Joining is the creation."""
    request: dict[str, Any]
    meeting_link: str
    platform: str
    bot_name: str
    bot_message: Any
    created_at: datetime
    start: datetime | None
    end: datetime | None
    custom_attributes: Any

    @property
    def duration_s(self) -> float | None:
        if self.start is None or self.end is None:
            return None
        return round((self.end - self.start).total_seconds(), 3)

    @classmethod
    def of(cls, bot: BotRecord) -> MeetStreamDetails:
        options = dict(bot.options or {})
        stamps = {"Joining": bot.created_at}
        stamps.update({k: datetime.fromisoformat(str(v)) for k, v in (bot.timeline or {}).items()})
        request = {"meeting_link": bot.meeting_link, "bot_name": bot.bot_name, **options}
        if bot.callback_url:
            request["callback_url"] = bot.callback_url
        start = stamps.get(BotStatus.RECORDING.value) or stamps.get(BotStatus.IN_MEETING.value)
        return cls(
            bot_id=bot.id,
            status=bot.status,
            timeline=tuple(sorted(stamps.items(), key=lambda kv: kv[1])),
            request=request,
            meeting_link=bot.meeting_link,
            platform=platform_of(bot.meeting_link),
            bot_name=bot.bot_name,
            bot_message=options.get("bot_message"),
            created_at=bot.created_at,
            start=start,
            # When it left the meeting, not when its files were handed in (encoding takes time).
            end=stamps.get(BotStatus.LEAVING.value) or stamps.get(BotStatus.ERROR.value) or bot.left_at,
            custom_attributes=options.get("custom_attributes"),
        )
