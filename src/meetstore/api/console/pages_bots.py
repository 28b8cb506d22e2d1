"""Console: the bots list (filters, a simulated test bot), one bot's page (timeline, webhooks,
every file with its location and state, players from the fetch endpoints' URLs, the transcript and
chat read server-side, Retry uploads, Delete data), and the JSON its script polls while it runs."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from meetstore.api.console.session import (
    Page,
    container_of,
    error_page,
    origins,
    posted,
    redirect,
    render,
    secure,
    user_of,
)
from meetstore.api.presenters.bots import bot_details
from meetstore.api.schemas.bots import CreateBotIn
from meetstore.domain.artifacts import ArtifactKind, BotStatus
from meetstore.errors import AccessRefused, MediaNotReady, MeetstoreError, NotFound
from meetstore.services.bot_views import BotDetail, StorageLocation

router = APIRouter(prefix="/console", include_in_schema=False)
T = TypeVar("T")
STATUSES = [s.value for s in BotStatus]
TEST_BOT = {
    "meeting_link": "https://meet.google.com/console-test",
    "bot_name": "Console test bot",
    "recording_config": {"simulated": {"duration_s": 5}},
}


@dataclass(frozen=True)
class Media:
    """What the page shows for one kind: a URL to play, where to read it (write_only), or why not."""

    url: str | None = None
    location: str | None = None
    note: str | None = None
    data: Any = None


def _media(fetch: Callable[[], T], to_url: Callable[[T], Any]) -> Media:
    try:
        return Media(data=to_url(fetch()))
    except AccessRefused as exc:
        return Media(location=str(exc.details.get("location") or ""), note=exc.message)
    except MediaNotReady:
        return Media(note="Not uploaded yet.")
    except MeetstoreError as exc:
        return Media(note=exc.message)


def location_of(loc: StorageLocation | None, key: str) -> str:
    if loc is None:
        return "(not pinned yet)"
    if loc.kind == "platform":
        return f"platform:{key}"
    return f"s3://{loc.bucket}/{key}"


@router.get("/bots")
async def bots_page(
    request: Request,
    status: str | None = Query(default=None),
    failed: str | None = Query(default=None),
    cursor: str | None = Query(default=None),
) -> Response:
    user = await user_of(request)
    status = status if status in STATUSES else None
    try:
        page = await run_in_threadpool(
            lambda: container_of(request).bots.list(
                user.account_id, limit=25, cursor=cursor or None, status=status, with_failed_uploads=failed == "1"
            )
        )
    except MeetstoreError as exc:
        return error_page(request, exc, user)
    rows = [
        {
            "bot": b,
            "where": "—" if b.location is None else location_of(b.location, "").rstrip("/"),
            "uploads": b.uploads or {},
        }
        for b in page.bots
    ]
    context = {"rows": rows, "statuses": STATUSES, "status": status, "failed": failed == "1", "next": page.next_cursor}
    return render(request, Page("bots.html", context), user)


@router.post("/bots/test")
async def start_test_bot(request: Request) -> Response:
    user, _form = await posted(request)
    data = CreateBotIn.model_validate(TEST_BOT).to_input()
    try:
        created = await run_in_threadpool(container_of(request).bots.create, user.account_id, data)
    except MeetstoreError as exc:
        return error_page(request, exc, user)
    return redirect(f"/console/bots/{created.bot.bot_id}")


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _bot_media(request: Request, account_id: str, d: BotDetail) -> dict[str, Media]:
    fetch = container_of(request).fetch
    bot_id = d.summary.bot_id
    kinds = {a.kind for a in d.artifacts}
    out = {
        "audio": _media(lambda: fetch.audio(account_id, bot_id), lambda f: f.url),
        "chat": _media(lambda: fetch.inline(account_id, bot_id, ArtifactKind.CHAT), _json),
        "transcript": _media(lambda: fetch.transcript(account_id, d.summary.transcript_id), _json),
    }
    if "video" in kinds:
        out["video"] = _media(lambda: fetch.video(account_id, bot_id), lambda v: v.url)
    if "screenshot" in kinds:
        out["screenshots"] = _media(
            lambda: fetch.screenshots(account_id, bot_id, limit=12), lambda p: [s.url for s in p.screenshots]
        )
    return out


def live_state(d: BotDetail) -> dict[str, Any]:
    """What the page's script compares to know the page is out of date."""
    return {"status": d.summary.status, "files": sorted(f"{a.kind}:{a.key}:{a.state}" for a in d.artifacts)}


@router.get("/bots/{bot_id}")
async def bot_page(request: Request, bot_id: str) -> Response:
    user = await user_of(request)
    container = container_of(request)
    try:
        d = await run_in_threadpool(container.bots.detail, user.account_id, bot_id)
    except NotFound as exc:  # another account's bot answers exactly like an unknown id
        return error_page(request, exc, user)
    media = await run_in_threadpool(_bot_media, request, user.account_id, d) if d.location else {}
    urls: list[str | None] = [m.url if isinstance(m.data, str) else None for m in media.values()]
    urls += [m.data if isinstance(m.data, str) else None for m in media.values()]
    shots = media.get("screenshots")
    if shots is not None and isinstance(shots.data, list):
        urls += shots.data
    files = [{"file": a, "where": location_of(d.location, a.key)} for a in d.artifacts]
    context = {
        "d": d,
        "details": None if d.meetstream is None else bot_details(d.meetstream),
        "files": files,
        "failed": any(a.state == "failed" for a in d.artifacts),
        "media": media,
        "live": json.dumps(live_state(d), separators=(",", ":")),
        "final": d.summary.status in ("Done", "Denied", "NotAllowed") and not any(a.state == "pending" for a in d.artifacts),
    }
    return render(request, Page("bot.html", context, media_origins=tuple(origins(urls))), user)


@router.get("/bots/{bot_id}/live")
async def bot_live(request: Request, bot_id: str) -> Response:
    user = await user_of(request)
    try:
        d = await run_in_threadpool(container_of(request).bots.detail, user.account_id, bot_id)
    except NotFound as exc:
        return secure(JSONResponse({"message": exc.message, "code": exc.code}, status_code=404))
    return secure(JSONResponse(live_state(d)))


@router.post("/bots/{bot_id}/retry")
async def retry_uploads(request: Request, bot_id: str) -> Response:
    user, _form = await posted(request)
    try:
        await run_in_threadpool(container_of(request).retry.retry, user.account_id, bot_id)
    except MeetstoreError as exc:
        return error_page(request, exc, user)
    return redirect(f"/console/bots/{bot_id}")


@router.post("/bots/{bot_id}/delete")
async def delete_data(request: Request, bot_id: str) -> Response:
    user, form = await posted(request)
    if form.get("confirm") != "yes":
        return render(request, Page("confirm_delete_bot.html", {"bot_id": bot_id}), user)
    try:
        answer = await run_in_threadpool(container_of(request).erasures.erase, user.account_id, bot_id)
    except MeetstoreError as exc:
        return error_page(request, exc, user)
    return render(request, Page("receipt.html", {"bot_id": bot_id, "receipt": answer.receipt}), user)
