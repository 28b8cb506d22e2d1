"""The ingest API for bot runtimes (API.md "Ingest API"), authenticated with the runtime token.

`PUT .../files/{name}` streams the raw body into the spool through a fixed-size buffer (never the
whole file in memory); the file becomes part of the bot only when every byte arrived and is on
disk. A client that disconnects mid-upload leaves nothing behind.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from meetstore.api.deps import ContainerDep
from meetstore.api.openapi import BotIdPath, errors, ok
from meetstore.api.presenters import bots as present
from meetstore.api.schemas.bots import IngestStatusIn
from meetstore.api.schemas.responses import (
    BotStatusOut,
    ClaimOut,
    IngestFileOut,
    IngestLeftOut,
    WaitingBotsOut,
)
from meetstore.container import Container, runtime_token
from meetstore.domain.artifacts import ACCEPTED_NAME_PATTERN
from meetstore.domain.ports import SpoolWriter
from meetstore.errors import InvalidApiKey, InvalidRequest, NotAuthenticated
from meetstore.services.bots import parse_bot_id
from meetstore.services.ingest import CHUNK_BYTES

router = APIRouter(prefix="/internal/v1/bots", tags=["ingest"])


def _token(request: Request, container: Container) -> str:
    token: str | None = getattr(request.app.state, "runtime_token", None)
    if token is None:
        token = runtime_token(container.settings)
        request.app.state.runtime_token = token
    return token


def _bearer(request: Request, what: str) -> str:
    header = (request.headers.get("authorization") or "").strip()
    scheme, _, value = header.partition(" ")
    if not header or scheme.lower() != "bearer" or not value.strip():
        raise NotAuthenticated(f"The ingest API takes {what}: send 'Authorization: Bearer <{what}>'.")
    return value.strip()


def require_dispatcher(request: Request, container: ContainerDep) -> None:
    """`Authorization: Bearer <runtime token>`: the dispatcher's, which lists and claims bots."""
    value = _bearer(request, "the runtime token")
    if not hmac.compare_digest(value.encode(), _token(request, container).encode()):
        raise InvalidApiKey("The runtime token is not valid.", code="invalid_runtime_token")


async def require_bot_runtime(request: Request, container: ContainerDep) -> None:
    """`Authorization: Bearer <the bot's runtime credential>` (from its claim): 401 without it,
    403 with the runtime token or another bot's credential."""
    value = _bearer(request, "the bot's runtime credential")
    bot_id = str(request.path_params.get("bot_id", ""))
    await run_in_threadpool(container.runtime_claims.authorize, bot_id, value)
    # The runtime is alive, and so is its claim (a throttled write).
    await run_in_threadpool(container.runtime_status.runtime_seen, bot_id)


DispatcherDep = Annotated[None, Depends(require_dispatcher)]
RuntimeDep = Annotated[None, Depends(require_bot_runtime)]
FileName = Annotated[
    str,
    Path(
        description="The recorded file's name: `audio.mp3`, `video.mp4`, `chat.json`, "
        "`screenshots/00001.png`, `audio_streams/{slug}_{n}.webm`, `recording_streams/{slug}_{n}.mp4`, `transcript/raw.json`, ...",
        json_schema_extra={"pattern": ACCEPTED_NAME_PATTERN},
    ),
]

NO_BOT = {404: "No bot with this id (also a malformed id): `bot_not_found`."}
LEFT = {409: "The bot has left its meeting; its files are final: `conflict`, `status`."}
DISK = {507: "The spool is out of disk space: `insufficient_storage`; try again later."}
RAW_BODY = {
    "requestBody": {
        "required": True,
        "description": "The file's bytes, streamed (any size).",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    }
}


@router.get(
    "",
    response_model=WaitingBotsOut,
    responses={**ok(WaitingBotsOut, "Bots waiting for a runtime, oldest first (no credentials)."), **errors({400: "`invalid_request`."})},
)
def list_waiting_bots(
    container: ContainerDep,
    _auth: DispatcherDep,
    status: Literal["Joining"] = Query(default="Joining"),
    limit: int = Query(default=50, ge=1, le=200),
    cursor: str | None = Query(default=None, max_length=512),
) -> WaitingBotsOut:
    page = container.runtime_claims.waiting(status, limit=limit, cursor=cursor)
    return present.waiting(page)


@router.post(
    "/{bot_id}/claim",
    response_model=ClaimOut,
    responses={
        **ok(ClaimOut, "The bot's runtime credential, shown once, and until when the claim lives without a call."),
        **errors(
            {
                **NO_BOT,
                409: "Another runtime's claim is alive, or the bot is the simulated runtime's "
                "(`already_claimed`); or it has left (`conflict`).",
            }
        ),
    },
)
def claim_bot(bot_id: BotIdPath, container: ContainerDep, _auth: DispatcherDep) -> ClaimOut:
    return present.claim(container.runtime_claims.claim(bot_id))


@router.put(
    "/{bot_id}/files/{name:path}",
    response_model=None,
    openapi_extra=RAW_BODY,
    responses={
        **ok(IngestFileOut, "The file replaced an earlier one of the same name."),
        **ok(IngestFileOut, "The file is stored in the spool.", 201),
        **errors(
            {
                400: "A name the runtime may not hand in, a body shorter or longer than Content-Length, "
                "or an upload cut off: `invalid_request` / `upload_incomplete`.",
                **NO_BOT,
                **LEFT,
                **DISK,
            }
        ),
    },
)
async def put_file(
    bot_id: BotIdPath, name: FileName, request: Request, container: ContainerDep, _auth: RuntimeDep
) -> JSONResponse:
    ingest = container.ingest
    expected: int | None = None
    length = request.headers.get("content-length")
    if length is not None:
        if not length.isdigit():
            raise InvalidRequest(
                "Content-Length must be a number.", [{"field": "Content-Length", "message": "not a number"}]
            )
        expected = int(length)
    writer: SpoolWriter = await run_in_threadpool(ingest.begin_file, bot_id, name)
    try:
        buffer = bytearray()
        async for chunk in request.stream():
            buffer += chunk
            if len(buffer) >= CHUNK_BYTES:
                await run_in_threadpool(writer.write, buffer)
                buffer.clear()
        if buffer:
            await run_in_threadpool(writer.write, buffer)
            buffer.clear()
        if expected is not None and writer.size != expected:
            raise InvalidRequest(
                f"The body had {writer.size} bytes but Content-Length said {expected}; nothing was kept.",
                [{"field": "body", "message": "shorter or longer than Content-Length"}],
            )
    except ClientDisconnect:
        # The runtime went away mid-upload: the partial file is dropped; nobody reads this answer.
        await run_in_threadpool(writer.abort)  # on a staging bucket, an abort is an S3 call
        return JSONResponse(
            {"message": "The upload was cut off; nothing was kept.", "code": "upload_incomplete"},
            status_code=400,
        )
    except Exception:
        await run_in_threadpool(writer.abort)
        raise
    except BaseException:  # cancelled: no awaiting any more
        writer.abort()
        raise
    saved = await run_in_threadpool(ingest.finish_file, writer)
    rendered = present.saved_file(saved).model_dump(mode="json")
    return JSONResponse(rendered, status_code=200 if saved.replaced else 201)


@router.get("/{bot_id}/status", response_model=BotStatusOut, responses={**ok(BotStatusOut), **errors(NO_BOT)})
def get_status(bot_id: BotIdPath, container: ContainerDep, _auth: RuntimeDep) -> BotStatusOut:
    """The bot's status, so a runtime notices `remove_bot` (status Leaving)."""
    return BotStatusOut(bot_id=parse_bot_id(bot_id), status=container.runtime_status.status_of(bot_id))


@router.post(
    "/{bot_id}/status",
    response_model=BotStatusOut,
    responses={**ok(BotStatusOut), **errors({**NO_BOT, **LEFT, **DISK})},
)
def post_status(
    bot_id: BotIdPath, body: IngestStatusIn, container: ContainerDep, _auth: RuntimeDep
) -> BotStatusOut:
    status = container.runtime_status.set_status(bot_id, body.status, kicked=body.reason == "kicked")
    return BotStatusOut(bot_id=parse_bot_id(bot_id), status=status)


@router.post(
    "/{bot_id}/left",
    response_model=IngestLeftOut,
    responses={
        **ok(IngestLeftOut, "Pinned and queued for upload (a repeat answers the same)."),
        **errors({**NO_BOT, **DISK}),
    },
)
def post_left(bot_id: BotIdPath, container: ContainerDep, _auth: RuntimeDep) -> IngestLeftOut:
    return present.handed_in(container.handin.left(bot_id))
