"""What the fetch endpoints answer, as typed values; `api/presenters.py` renders them.

Each value holds exactly what its endpoint's body carries: the presigned URL(s), their lifetime,
and the meeting facts the body names. No field here knows a route or a wire name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from meetstore.services.fetch_answers import Expiry


@dataclass(frozen=True, slots=True)
class FileUrl:
    """One finished file (audio, chat log, manifest): its presigned URL."""

    url: str
    expiry: Expiry


def _number(value: object) -> int | float | None:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


@dataclass(frozen=True, slots=True)
class VideoInfo:
    """What was measured of the recorded video; a field nobody measured is None."""

    duration: int | float | None = None
    size_mb: int | float | None = None
    resolution: str | None = None
    fps: int | float | None = None
    frames_processed: int | None = None
    corrupted_frames: int | None = None

    @classmethod
    def reported(cls, info: object) -> VideoInfo:
        """From the bot's meeting data: a value of the wrong type counts as not measured."""
        if not isinstance(info, Mapping):
            return cls()
        resolution = info.get("resolution")
        return cls(
            duration=_number(info.get("duration")),
            size_mb=_number(info.get("size_mb")),
            resolution=resolution if isinstance(resolution, str) else None,
            fps=_number(info.get("fps")),
            frames_processed=_count(info.get("frames_processed")),
            corrupted_frames=_count(info.get("corrupted_frames")),
        )


@dataclass(frozen=True, slots=True)
class VideoUrl:
    url: str
    expiry: Expiry
    info: VideoInfo


@dataclass(frozen=True, slots=True)
class StreamUrl:
    """One participant's separate audio stream."""

    participant: str
    participant_id: str
    url: str
    key: str


@dataclass(frozen=True, slots=True)
class StreamUrls:
    streams: tuple[StreamUrl, ...]
    expiry: Expiry


@dataclass(frozen=True, slots=True)
class ScreenshotUrl:
    url: str
    taken_at: str | None
    key: str


@dataclass(frozen=True, slots=True)
class ScreenshotPage:
    screenshots: tuple[ScreenshotUrl, ...]
    expiry: Expiry
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class TranscriptUrls:
    """The transcript's two files; a file that was not produced has no URL."""

    transcript_id: str
    provider: str
    raw: str | None
    processed: str | None
    expiry: Expiry
