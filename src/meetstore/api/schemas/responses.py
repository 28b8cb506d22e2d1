"""Response bodies: the `response_model` of every route, filled by `api/presenters.py`.

Each model names the fields a client can rely on; `extra="allow"` keeps the documented shape open
to additions. The schemathesis test in tests/security validates every real answer against these,
so a handler that drifts from its documented shape fails a test.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.config import JsonDict

from meetstore.api.schemas.lifecycle import DeletingOut, ReceiptOut, RetentionConfigOut, RetentionOut

BotStatusName = Literal[
    "Scheduled",
    "Joining",
    "InWaitingRoom",
    "InMeeting",
    "Recording",
    "Leaving",
    "Stopped",
    "Denied",
    "NotAllowed",
    "Error",
    "Done",
]
UUID_FORMAT: JsonDict = {"format": "uuid"}


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow")


class FieldErrorOut(_Open):
    field: str
    message: str


class ErrorOut(_Open):
    """Every error: a human sentence, a machine code, and the detail fields named for that code."""

    model_config = ConfigDict(extra="allow", title="Error")

    message: str
    code: str
    errors: list[FieldErrorOut] | None = Field(
        default=None, description="With `invalid_request`: what is wrong with which field."
    )


class EmptyOut(BaseModel):
    model_config = ConfigDict(extra="forbid", title="Empty")


# --- storage configuration -------------------------------------------------------------------------


class PrefixesOut(_Open):
    audio: str
    video: str
    transcript: str
    metadata: str


class StorageConfigOut(_Open):
    """The stored configuration; never a credential."""

    provider: Literal["aws"]
    bucket_name: str
    region: str
    access_mode: Literal["read_write", "write_only"]
    prefix: str
    prefixes: PrefixesOut
    endpoint_url: str | None
    version: int
    created_at: str | None
    updated_at: str | None
    validated_at: str | None


class StorageConfigGetOut(BaseModel):
    """`{}` when nothing is configured, else `{"storage": {...}}`."""

    model_config = ConfigDict(extra="forbid")

    storage: StorageConfigOut | None = None
    retention: RetentionConfigOut | None = None


class ValidationOut(_Open):
    valid: bool
    checks: list[dict[str, Any]]
    access_mode: Literal["read_write", "write_only"] | None = None


class ExternalIdOut(_Open):
    external_id: str


# --- bots ------------------------------------------------------------------------------------------


class BotCreatedOut(_Open):
    bot_id: str = Field(json_schema_extra=UUID_FORMAT)
    transcript_id: str = Field(json_schema_extra=UUID_FORMAT)
    meeting_url: str
    status: BotStatusName


class BotSummaryOut(_Open):
    bot_id: str = Field(json_schema_extra=UUID_FORMAT)
    transcript_id: str = Field(json_schema_extra=UUID_FORMAT)
    meeting_url: str
    bot_name: str
    status: BotStatusName
    created_at: str | None
    updated_at: str | None
    custom_attributes: dict[str, Any] | None


class BotListOut(_Open):
    bots: list[BotSummaryOut]
    next_cursor: str | None


class BotStatusOut(_Open):
    bot_id: str = Field(json_schema_extra=UUID_FORMAT)
    status: BotStatusName


class RemoveBotOut(BotStatusOut):
    message: str


class LocationOut(_Open):
    kind: Literal["custom", "platform"]
    bucket: str | None
    region: str | None
    endpoint_url: str | None
    prefixes: dict[str, str]


class ArtifactOut(_Open):
    kind: str
    key: str
    size: int
    content_type: str
    state: str
    attempts: int
    s3_error: str | None
    operation: str | None
    message: str | None


class BotStorageOut(_Open):
    location: LocationOut | None
    artifacts: list[ArtifactOut]


class WebhookStateOut(_Open):
    event: str
    state: str
    attempts: int
    last_status: int | None


class StageOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: bool
    timestamp: str


class MeetStreamBotDetailsOut(BaseModel):
    """MeetStream's `bot_details`, with MeetStream's key names."""

    model_config = ConfigDict(extra="forbid")

    BotID: str
    Status: str
    StatusTimeline: dict[str, StageOut]
    RequestPayload: dict[str, Any]
    MeetingLink: str
    Platform: str
    BotUsername: str
    BotMessage: Any = None
    CreatedAt: str
    StartTime: str | None
    EndTime: str | None
    Duration: float | None = Field(description="Seconds from the start of the meeting to the bot leaving.")
    custom_attributes: Any = None


class BotDetailOut(BotSummaryOut):
    transcript_provider: str
    callback_url: str | None
    video_required: bool
    audio_separate_streams: bool
    runtime: str
    left_at: str | None
    done_at: str | None
    options: dict[str, Any]
    storage: BotStorageOut
    webhooks: list[WebhookStateOut]
    retention: RetentionOut | None = Field(
        default=None, description="The retention pinned at hand-in (absent before the bot left)."
    )
    deletion: ReceiptOut | DeletingOut | None = Field(
        default=None, description="The erasure's receipt, or `deleting` while it runs."
    )
    deleted_at: str | None = None
    expired_at: str | None = None
    media_expired_at: str | None = None
    recording: Literal["paused", "recording"] = Field(
        default="recording", description="Whether the recording is paused now (pause_recording)."
    )
    pauses: list[dict[str, float]] = Field(
        default_factory=list, description="Paused spans `{start, end}`, seconds from the recording's start."
    )
    bot_details: MeetStreamBotDetailsOut | None = Field(
        default=None, description="The bot as MeetStream's detail shows it (MeetStream's key names)."
    )


class RetryOut(_Open):
    retrying: int = Field(ge=1)


# --- fetch -----------------------------------------------------------------------------------------


class _Expiring(_Open):
    expires_in: int
    expires_at: str


class AudioOut(_Expiring):
    audio_url: str


class VideoInfoOut(_Open):
    duration: int | float | None
    size_mb: int | float | None
    resolution: str | None
    fps: int | float | None
    frames_processed: int | None
    corrupted_frames: int | None


class VideoOut(_Expiring):
    video_url: str
    video_info: VideoInfoOut


class StreamOut(_Open):
    participant: str
    participant_id: str
    url: str
    key: str


class AudioStreamsOut(_Expiring):
    streams: list[StreamOut]


class ScreenshotOut(_Open):
    url: str
    taken_at: str | None
    key: str


class ScreenshotsOut(_Expiring):
    screenshots: list[ScreenshotOut]
    next_cursor: str | None


class ChatsOut(_Expiring):
    download_url: str
    file_type: Literal["json"]


class TranscriptUrlsOut(_Open):
    raw_transcript: str | None
    processed_transcript: str | None


class TranscriptionsOut(_Expiring):
    transcript_id: str = Field(json_schema_extra=UUID_FORMAT)
    provider: str
    download_urls: TranscriptUrlsOut


class ManifestOut(_Expiring):
    manifest_url: str


# --- ingest ----------------------------------------------------------------------------------------


class IngestFileOut(_Open):
    bot_id: str = Field(json_schema_extra=UUID_FORMAT)
    name: str
    size: int
    sha256: str


class IngestLeftOut(_Open):
    bot_id: str = Field(json_schema_extra=UUID_FORMAT)
    storage: LocationOut | None
    artifacts: int


class WaitingBotOut(_Open):
    bot_id: str = Field(json_schema_extra=UUID_FORMAT)
    meeting_link: str
    bot_name: str
    options: dict[str, Any]
    created_at: str | None


class WaitingBotsOut(_Open):
    bots: list[WaitingBotOut]
    next_cursor: str | None


class ClaimOut(_Open):
    bot_id: str = Field(json_schema_extra=UUID_FORMAT)
    runtime_credential: str = Field(
        description="This bot's credential for every other ingest call; shown once."
    )
    lease_expires_at: str | None


class IamPolicyOut(BaseModel):
    policy: dict[str, Any] = Field(description="An IAM policy document: attach it to the user or role meetstore uses.")
    notes: list[str] = Field(description="What each part is for, and what to do with the rest.")
    trust_policy: dict[str, Any] | None = Field(
        default=None, description="With role_arn: the role's trust policy, naming the account's external id."
    )
