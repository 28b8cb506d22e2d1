"""Fetch endpoints (API.md, "Fetch endpoints"): presigned URLs and inline JSON.

The handlers only translate HTTP to `FetchService` calls; every outcome (202, 403, 404) is a domain
error raised by the service and mapped once in `api/errors.py`.

These are the endpoints clients poll, so each costs no more of the framework than it must: the
handler authenticates the request itself (`caller`) instead of through FastAPI's dependencies, each
of which is one more resolution per request, and sends its presenter's model as JSON (`json_body`)
instead of having FastAPI validate the model it was just built from a second time. The response
models stay declared for the OpenAPI document. The two with query parameters (screenshots'
`limit` and `cursor`, the transcript's `raw`) authenticate as a dependency: FastAPI validates
parameters before it calls a handler, and a request without a valid key is answered 401/403
before anything it sent is judged.
"""

from __future__ import annotations

import functools
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from meetstore.api.deps import AccountDep, ContainerDep, caller
from meetstore.api.openapi import BotIdPath, Responses, TranscriptIdPath, errors, ok
from meetstore.api.presenters import fetch as present
from meetstore.api.presenters.json_body import json_body
from meetstore.api.schemas.responses import (
    AudioOut,
    AudioStreamsOut,
    ChatsOut,
    ManifestOut,
    ScreenshotsOut,
    TranscriptionsOut,
    VideoOut,
)
from meetstore.domain.artifacts import ArtifactKind
from meetstore.services.fetch import SCREENSHOTS_DEFAULT_LIMIT, SCREENSHOTS_MAX_LIMIT

router = APIRouter(prefix="/api/v1", tags=["fetch"])
# The handlers are async: a finished file the service already knows is answered on the event loop
# (no I/O), anything else on the thread pool, where the service reads the database or the store.

OUTCOMES = errors(
    {
        202: "The media is not final yet (bot in the meeting or uploading): `media_not_ready`, `status`.",
        403: "The API key is not valid (`invalid_api_key`); or the file is in the customer's bucket and "
        "meetstore may not read it: `write_only_storage` / `storage_not_accessible`, with `bucket`, "
        "`key`, `location`.",
        404: "`bot_not_found` (unknown bot, another account's, or a malformed id), `artifact_not_found` "
        "(never produced), or `upload_failed` (with `s3_error`, `operation`, `bucket`, `key`).",
        502: "The storage answered with an error (`s3_error`).",
    }
)
INLINE_OUTCOMES = {
    **OUTCOMES,
    **errors({413: "The stored file is too large to return inline: `payload_too_large`."}),
}
JSON_ITEMS: Responses = {
    200: {
        "description": "The JSON array stored in the bot's manifest.",
        "content": {"application/json": {"schema": {"type": "array", "items": {}}}},
    }
}
SEGMENTS: Responses = {
    200: {
        "description": "The stored transcript, byte for byte: the processed segments "
        "`[{speaker, transcript, start, end}]`, or the provider's raw output with `raw=true`.",
        "content": {"application/json": {"schema": {"type": ["array", "object"]}}},
    }
}


def _fetch(model: type[Any]) -> dict[str, Any]:
    return {"response_model": model, "responses": {**ok(model), **OUTCOMES}}


@router.get("/bots/{bot_id}/get_audio", **_fetch(AudioOut))
async def get_audio(request: Request, bot_id: BotIdPath) -> Response:
    container, account_id = await caller(request)
    answer = container.fetch.known(account_id, bot_id, ArtifactKind.AUDIO)
    if answer is None:
        answer = await run_in_threadpool(container.fetch.audio, account_id, bot_id)
    return json_body(present.audio(answer))


@router.get("/bots/{bot_id}/get_video", **_fetch(VideoOut))
async def get_video(request: Request, bot_id: BotIdPath) -> Response:
    container, account_id = await caller(request)
    return json_body(present.video(await run_in_threadpool(container.fetch.video, account_id, bot_id)))


@router.get("/bots/{bot_id}/get_audio_streams", **_fetch(AudioStreamsOut))
async def get_audio_streams(request: Request, bot_id: BotIdPath) -> Response:
    container, account_id = await caller(request)
    streams = await run_in_threadpool(container.fetch.audio_streams, account_id, bot_id)
    return json_body(present.audio_streams(streams))


@router.get("/bots/{bot_id}/get_recording_streams", **_fetch(AudioStreamsOut))
async def get_recording_streams(request: Request, bot_id: BotIdPath) -> Response:
    """Per-participant video (`recording_config.per_participant_video`), one MP4 per participant."""
    container, account_id = await caller(request)
    streams = await run_in_threadpool(container.fetch.recording_streams, account_id, bot_id)
    return json_body(present.audio_streams(streams))


@router.get("/bots/{bot_id}/get_screenshots", **_fetch(ScreenshotsOut))
async def get_screenshots(
    bot_id: BotIdPath,
    account_id: AccountDep,
    container: ContainerDep,
    limit: int = Query(default=SCREENSHOTS_DEFAULT_LIMIT, ge=1, le=SCREENSHOTS_MAX_LIMIT),
    cursor: str | None = Query(default=None, max_length=512),
) -> Response:
    page = await run_in_threadpool(
        functools.partial(container.fetch.screenshots, account_id, bot_id, limit=limit, cursor=cursor)
    )
    return json_body(present.screenshots(page))


@router.get("/bots/{bot_id}/get_chats", **_fetch(ChatsOut))
async def get_chats(request: Request, bot_id: BotIdPath) -> Response:
    container, account_id = await caller(request)
    answer = container.fetch.known(account_id, bot_id, ArtifactKind.CHAT)
    if answer is None:
        answer = await run_in_threadpool(container.fetch.chats, account_id, bot_id)
    return json_body(present.chats(answer))


@router.get("/bots/{bot_id}/transcriptions", **_fetch(TranscriptionsOut))
async def get_transcriptions(request: Request, bot_id: BotIdPath) -> Response:
    container, account_id = await caller(request)
    urls = await run_in_threadpool(container.fetch.transcriptions, account_id, bot_id)
    return json_body(present.transcriptions(urls))


@router.get("/bots/{bot_id}/get_manifest", **_fetch(ManifestOut))
async def get_manifest(request: Request, bot_id: BotIdPath) -> Response:
    container, account_id = await caller(request)
    answer = container.fetch.known(account_id, bot_id, ArtifactKind.MANIFEST)
    if answer is None:
        answer = await run_in_threadpool(container.fetch.manifest, account_id, bot_id)
    return json_body(present.manifest(answer))


@router.get(
    "/bots/{bot_id}/get_participants", response_model=None, responses={**JSON_ITEMS, **INLINE_OUTCOMES}
)
async def get_participants(request: Request, bot_id: BotIdPath) -> JSONResponse:
    container, account_id = await caller(request)
    return JSONResponse(await run_in_threadpool(container.fetch.participants, account_id, bot_id))


@router.get(
    "/bots/{bot_id}/get_speaker_timeline", response_model=None, responses={**JSON_ITEMS, **INLINE_OUTCOMES}
)
async def get_speaker_timeline(request: Request, bot_id: BotIdPath) -> JSONResponse:
    container, account_id = await caller(request)
    return JSONResponse(await run_in_threadpool(container.fetch.speaker_timeline, account_id, bot_id))


@router.get(
    "/transcript/{transcript_id}/get_transcript",
    response_model=None,
    responses={**SEGMENTS, **INLINE_OUTCOMES},
)
async def get_transcript(
    transcript_id: TranscriptIdPath,
    account_id: AccountDep,
    container: ContainerDep,
    raw: bool = Query(default=False),
) -> Response:
    """The stored transcript, byte for byte: processed segments, or the provider's raw output."""
    data = await run_in_threadpool(
        functools.partial(container.fetch.transcript, account_id, transcript_id, raw=raw)
    )
    return Response(content=data, media_type="application/json")
