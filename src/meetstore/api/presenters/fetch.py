"""Fetch answers → the bodies of API.md's fetch endpoints (field names are MeetStream's)."""

from __future__ import annotations

from meetstore.api.schemas.responses import (
    AudioOut,
    AudioStreamsOut,
    ChatsOut,
    ManifestOut,
    ScreenshotOut,
    ScreenshotsOut,
    StreamOut,
    TranscriptionsOut,
    TranscriptUrlsOut,
    VideoInfoOut,
    VideoOut,
)
from meetstore.services.fetch_results import FileUrl, ScreenshotPage, StreamUrls, TranscriptUrls, VideoUrl


def audio(a: FileUrl) -> AudioOut:
    return AudioOut(audio_url=a.url, expires_in=a.expiry.expires_in, expires_at=a.expiry.expires_at)


def chats(a: FileUrl) -> ChatsOut:
    return ChatsOut(
        download_url=a.url, file_type="json", expires_in=a.expiry.expires_in, expires_at=a.expiry.expires_at
    )


def manifest(a: FileUrl) -> ManifestOut:
    return ManifestOut(manifest_url=a.url, expires_in=a.expiry.expires_in, expires_at=a.expiry.expires_at)


def video(a: VideoUrl) -> VideoOut:
    return VideoOut(
        video_url=a.url,
        expires_in=a.expiry.expires_in,
        expires_at=a.expiry.expires_at,
        video_info=VideoInfoOut.model_validate(a.info, from_attributes=True),
    )


def audio_streams(a: StreamUrls) -> AudioStreamsOut:
    return AudioStreamsOut(
        streams=[StreamOut.model_validate(s, from_attributes=True) for s in a.streams],
        expires_in=a.expiry.expires_in,
        expires_at=a.expiry.expires_at,
    )


def screenshots(a: ScreenshotPage) -> ScreenshotsOut:
    return ScreenshotsOut(
        screenshots=[ScreenshotOut.model_validate(s, from_attributes=True) for s in a.screenshots],
        expires_in=a.expiry.expires_in,
        expires_at=a.expiry.expires_at,
        next_cursor=a.next_cursor,
    )


def transcriptions(a: TranscriptUrls) -> TranscriptionsOut:
    return TranscriptionsOut(
        transcript_id=a.transcript_id,
        provider=a.provider,
        download_urls=TranscriptUrlsOut(raw_transcript=a.raw, processed_transcript=a.processed),
        expires_in=a.expiry.expires_in,
        expires_at=a.expiry.expires_at,
    )
