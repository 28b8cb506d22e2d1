"""Fetch endpoints (API.md, "Fetch endpoints"): presigned URLs and inline JSON. Issue 4.

The handlers only translate HTTP to `FetchService` calls; every outcome (202, 403, 404) is a domain
error raised by the service and mapped once in `api/errors.py`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse, Response

from meetstore.api.deps import AccountDep, ContainerDep
from meetstore.services.fetch import SCREENSHOTS_DEFAULT_LIMIT, SCREENSHOTS_MAX_LIMIT

router = APIRouter(prefix="/api/v1", tags=["fetch"])


@router.get("/bots/{bot_id}/get_audio")
def get_audio(bot_id: str, account_id: AccountDep, container: ContainerDep) -> dict[str, Any]:
    return container.fetch.audio(account_id, bot_id)


@router.get("/bots/{bot_id}/get_video")
def get_video(bot_id: str, account_id: AccountDep, container: ContainerDep) -> dict[str, Any]:
    return container.fetch.video(account_id, bot_id)


@router.get("/bots/{bot_id}/get_audio_streams")
def get_audio_streams(bot_id: str, account_id: AccountDep, container: ContainerDep) -> dict[str, Any]:
    return container.fetch.audio_streams(account_id, bot_id)


@router.get("/bots/{bot_id}/get_screenshots")
def get_screenshots(
    bot_id: str,
    account_id: AccountDep,
    container: ContainerDep,
    limit: int = Query(default=SCREENSHOTS_DEFAULT_LIMIT, ge=1, le=SCREENSHOTS_MAX_LIMIT),
    cursor: str | None = Query(default=None, max_length=512),
) -> dict[str, Any]:
    return container.fetch.screenshots(account_id, bot_id, limit=limit, cursor=cursor)


@router.get("/bots/{bot_id}/get_chats")
def get_chats(bot_id: str, account_id: AccountDep, container: ContainerDep) -> dict[str, Any]:
    return container.fetch.chats(account_id, bot_id)


@router.get("/bots/{bot_id}/transcriptions")
def get_transcriptions(bot_id: str, account_id: AccountDep, container: ContainerDep) -> dict[str, Any]:
    return container.fetch.transcriptions(account_id, bot_id)


@router.get("/bots/{bot_id}/get_manifest")
def get_manifest(bot_id: str, account_id: AccountDep, container: ContainerDep) -> dict[str, Any]:
    return container.fetch.manifest(account_id, bot_id)


@router.get("/bots/{bot_id}/get_participants", response_model=None)
def get_participants(bot_id: str, account_id: AccountDep, container: ContainerDep) -> JSONResponse:
    return JSONResponse(container.fetch.participants(account_id, bot_id))


@router.get("/bots/{bot_id}/get_speaker_timeline", response_model=None)
def get_speaker_timeline(bot_id: str, account_id: AccountDep, container: ContainerDep) -> JSONResponse:
    return JSONResponse(container.fetch.speaker_timeline(account_id, bot_id))


@router.get("/transcript/{transcript_id}/get_transcript", response_model=None)
def get_transcript(
    transcript_id: str,
    account_id: AccountDep,
    container: ContainerDep,
    raw: bool = Query(default=False),
) -> Response:
    """The stored transcript, byte for byte: processed segments, or the provider's raw output."""
    data = container.fetch.transcript(account_id, transcript_id, raw=raw)
    return Response(content=data, media_type="application/json")
