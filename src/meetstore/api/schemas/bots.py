"""Request bodies of the bot endpoints and the ingest API.

`create_bot` follows MeetStream: the known fields are type-checked (strict: no coercion), and any
other optional field MeetStream may add is accepted and stored with the bot (`options`).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from meetstore.adapters.net_guard import parse_http_url
from meetstore.domain.erasure import InvalidRetention, parse_retention
from meetstore.errors import InvalidRequest
from meetstore.services.bots import DEFAULT_BOT_NAME, DEFAULT_TRANSCRIPT_PROVIDER, CreateBotInput

_PROVIDER_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
MAX_SIMULATED_DURATION_S = 4 * 3600.0
MAX_SIMULATED_PARTICIPANTS = 8
HTTP_URL_DOC: dict[str, Any] = {"format": "uri", "pattern": "^https?://"}
"""Documentation only: an http(s) URL with a host and no user:password@ (checked by `http_url`)."""


def http_url(value: str, field: str) -> str:
    try:
        parse_http_url(value, field)
    except InvalidRequest as exc:
        raise ValueError(exc.message) from None
    return value


def _rfc3339(value: str) -> datetime:
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError("must be an RFC 3339 time, e.g. 2026-12-03T09:30:00Z") from None
    if when.tzinfo is None:
        raise ValueError("must name its offset (Z or +hh:mm)")
    return when.astimezone(UTC)


def _positive(value: float | None) -> float | None:
    if value is not None and not (math.isfinite(value) and value > 0):
        raise ValueError("must be a positive number of seconds")
    return value


def _seconds_or_zero(value: float | None) -> float | None:
    if value is not None and not (math.isfinite(value) and value >= 0):
        raise ValueError("must be a number of seconds, 0 or more")
    return value


class AutomaticLeaveIn(BaseModel):
    """MeetStream's `automatic_leave` timeouts (seconds; 0 = at once). Other keys are kept as sent."""

    model_config = ConfigDict(extra="allow", strict=True)

    everyone_left_timeout: float | None = Field(
        default=None, description="How long the bot stays after the last participant left (simulated: 0)."
    )
    waiting_room_timeout: float | None = Field(
        default=None, description="How long the bot waits to be admitted before it gives up (NotAllowed)."
    )
    noone_joined_timeout: float | None = Field(
        default=None, description="How long the bot waits when nobody joins before it leaves (simulated: 0)."
    )
    voice_inactivity_timeout: float | None = None
    in_call_recording_timeout: float | None = Field(
        default=None, description="The longest the bot records; it leaves when it is reached."
    )
    recording_permission_denied_timeout: float | None = None

    @field_validator(
        "everyone_left_timeout",
        "waiting_room_timeout",
        "noone_joined_timeout",
        "voice_inactivity_timeout",
        "in_call_recording_timeout",
        "recording_permission_denied_timeout",
    )
    @classmethod
    def _seconds(cls, v: float | None) -> float | None:
        return _seconds_or_zero(v)


class TranscriptConfigIn(BaseModel):
    """`recording_config.transcript`: `provider` is an object with exactly one key, the provider."""

    model_config = ConfigDict(extra="allow", strict=True)

    provider: dict[str, dict[str, Any]] | None = None

    @field_validator("provider")
    @classmethod
    def _one_provider(cls, v: dict[str, dict[str, Any]] | None) -> dict[str, dict[str, Any]] | None:
        if v is None:
            return None
        if len(v) != 1:
            raise ValueError('must name exactly one provider, e.g. {"meetstream": {}}')
        name = next(iter(v))
        if not _PROVIDER_RE.fullmatch(name):  # fullmatch: `$` lets "name\n" through
            raise ValueError(
                "the provider name may contain only lower-case letters, digits, '_' and '-' (64 at most)"
            )
        return v


def _simulated_seconds(v: float | None) -> float | None:
    _positive(v)
    if v is not None and v > MAX_SIMULATED_DURATION_S:
        raise ValueError(f"must be at most {int(MAX_SIMULATED_DURATION_S)} seconds")
    return v


class SimulatedConfigIn(BaseModel):
    """`recording_config.simulated`: how meetstore's simulated runtime's meeting goes (API.md's
    scenarios table). Seconds count from the start of the recording but `waiting_room_s`."""

    model_config = ConfigDict(extra="forbid", strict=True)

    duration_s: float | None = Field(default=None, description="How long the participants stay (default 10).")
    waiting_room_s: float | None = Field(default=None, description="Seconds in the waiting room before the host decides.")
    admit: bool = Field(default=True, description="false: the host denies the bot (status Denied).")
    participants: int | None = Field(
        default=None, ge=0, le=MAX_SIMULATED_PARTICIPANTS, description="How many join (default 2); 0: nobody."
    )
    kick_at_s: float | None = Field(default=None, description="The bot is removed from the meeting then.")
    fail_at_s: float | None = Field(default=None, description="The runtime fails then (status Error).")

    @field_validator("duration_s", "kick_at_s", "fail_at_s")
    @classmethod
    def _duration(cls, v: float | None) -> float | None:
        return _simulated_seconds(v)

    @field_validator("waiting_room_s")
    @classmethod
    def _waiting(cls, v: float | None) -> float | None:
        _seconds_or_zero(v)
        return _simulated_seconds(v) if v else v


class RecordingConfigIn(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    transcript: TranscriptConfigIn | None = None
    simulated: SimulatedConfigIn | None = None
    per_participant_video: bool = Field(
        default=False, description="Also record one video per participant (get_recording_streams)."
    )
    retention: dict[str, Any] | float | None = Field(
        default=None,
        description='{"type": "timed", "hours": H} (H > 0, fractions allowed), {"type": "forever"}, '
        "or a bare number of hours; normalised to the object.",
    )

    @field_validator("retention", mode="before")
    @classmethod
    def _retention(cls, v: object) -> dict[str, Any] | None:
        if v is None:
            return None
        try:
            return parse_retention(v).as_dict()
        except InvalidRetention as exc:
            raise ValueError(str(exc)) from None


class CreateBotIn(BaseModel):
    """POST /bots/create_bot."""

    model_config = ConfigDict(extra="allow", strict=True)

    meeting_link: str = Field(min_length=1, max_length=2048, json_schema_extra=HTTP_URL_DOC)
    bot_name: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description=f'Optional, as on MeetStream: absent or null means "{DEFAULT_BOT_NAME}".',
    )
    callback_url: str | None = Field(default=None, max_length=2048, json_schema_extra=HTTP_URL_DOC)
    video_required: bool = True
    audio_required: bool = Field(
        default=True, description="false: no audio file (audio.mp3, audio streams); the video keeps its sound."
    )
    audio_separate_streams: bool = False
    automatic_leave: AutomaticLeaveIn | None = None
    recording_config: RecordingConfigIn | None = None
    custom_attributes: dict[str, Any] | None = None
    join_at: str | None = Field(
        default=None,
        max_length=64,
        description="RFC 3339 time with an offset: the bot is Scheduled until then (a past time: now).",
        json_schema_extra={"format": "date-time"},
    )

    @field_validator("join_at")
    @classmethod
    def _join_at(cls, v: str | None) -> str | None:
        if v is None:
            return None
        when = _rfc3339(v)
        return when.isoformat().replace("+00:00", "Z")

    @field_validator("meeting_link")
    @classmethod
    def _meeting_link(cls, v: str) -> str:
        return http_url(v.strip(), "meeting_link")

    @field_validator("bot_name")
    @classmethod
    def _bot_name(cls, v: str | None) -> str | None:
        if v is None:
            return None
        if not v.strip():
            raise ValueError("must not be blank")
        if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in v):
            raise ValueError("must not contain control characters")
        return v

    @field_validator("callback_url")
    @classmethod
    def _callback_url(cls, v: str | None) -> str | None:
        if v is None or v == "":
            return None
        return http_url(v.strip(), "callback_url")

    def to_input(self) -> CreateBotInput:
        provider = DEFAULT_TRANSCRIPT_PROVIDER
        rc = self.recording_config
        if rc is not None and rc.transcript is not None and rc.transcript.provider:
            provider = next(iter(rc.transcript.provider))
        duration = None
        if rc is not None and rc.simulated is not None:
            duration = rc.simulated.duration_s
        leave = self.automatic_leave.everyone_left_timeout if self.automatic_leave else None
        # Everything but the three columns is kept as sent (known fields validated above).
        options = self.model_dump(
            mode="json", exclude={"meeting_link", "bot_name", "callback_url"}, exclude_none=True
        )
        options["video_required"] = self.video_required
        options["audio_required"] = self.audio_required
        options["audio_separate_streams"] = self.audio_separate_streams
        return CreateBotInput(
            meeting_link=self.meeting_link,
            bot_name=DEFAULT_BOT_NAME if self.bot_name is None else self.bot_name,
            callback_url=self.callback_url,
            transcript_provider=provider,
            video_required=self.video_required,
            audio_separate_streams=self.audio_separate_streams,
            simulated_duration_s=duration,
            everyone_left_timeout_s=leave,
            options=options,
            join_at=None if self.join_at is None else _rfc3339(self.join_at),
        )


IngestStatus = Literal["InWaitingRoom", "InMeeting", "Recording", "Leaving", "Denied", "NotAllowed", "Stopped", "Error"]


class IngestStatusIn(BaseModel):
    """POST /internal/v1/bots/{bot_id}/status."""

    model_config = ConfigDict(extra="forbid", strict=True)

    status: IngestStatus
    message: str | None = Field(default=None, max_length=1000)
    reason: Literal["kicked"] | None = Field(
        default=None, description='With status Leaving: "kicked" when the meeting removed the bot (bot.kicked).'
    )
