"""Bodies of the live controls (pause, resume, send_message, send_image)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from meetstore.api.schemas.bots import HTTP_URL_DOC, http_url
from meetstore.services.bot_controls import MAX_MESSAGE_CHARS


class ControlOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    success: bool = True
    bot_id: str
    recording: Literal["paused", "recording"]


class SendMessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    message: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS)

    @field_validator("message")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be blank")
        return v


class SendImageIn(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    img_url: str = Field(min_length=1, max_length=2048, json_schema_extra=HTTP_URL_DOC)
    display_duration: int | None = Field(default=None, ge=1, le=3600, description="Seconds.")

    @field_validator("display_duration", mode="before")
    @classmethod
    def _whole_seconds(cls, v: object) -> object:
        # JSON has one number type: 5.0 is the integer 5 (as JSON Schema says), 5.5 is not.
        return int(v) if isinstance(v, float) and v.is_integer() else v

    @field_validator("img_url")
    @classmethod
    def _url(cls, v: str) -> str:
        return http_url(v.strip(), "img_url")
