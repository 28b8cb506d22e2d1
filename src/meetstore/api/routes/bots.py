"""Bot endpoints (MeetStream names): create, list, status, detail, remove."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse

from meetstore.api.deps import AccountDep, ContainerDep
from meetstore.api.schemas.bots import CreateBotIn
from meetstore.services.bots import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

router = APIRouter(prefix="/api/v1/bots", tags=["bots"])

REPLAY_STATUS = 507
"""MeetStream answers an Idempotency-Key replay with 507 and the original bot."""


@router.post("/create_bot", status_code=201)
def create_bot(
    body: CreateBotIn,
    account_id: AccountDep,
    container: ContainerDep,
    idempotency_key: str | None = Header(default=None, alias="Idempotency-Key"),
) -> JSONResponse:
    created = container.bots.create(account_id, body.to_input(), idempotency_key)
    return JSONResponse(created.body, status_code=REPLAY_STATUS if created.replay else 201)


@router.get("")
def list_bots(
    account_id: AccountDep,
    container: ContainerDep,
    limit: int = Query(default=DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE),
    cursor: str | None = Query(default=None, max_length=512),
) -> dict[str, Any]:
    return container.bots.list(account_id, limit=limit, cursor=cursor)


@router.get("/{bot_id}/status")
def bot_status(bot_id: str, account_id: AccountDep, container: ContainerDep) -> dict[str, Any]:
    return container.bots.status(account_id, bot_id)


@router.get("/{bot_id}/detail")
def bot_detail(bot_id: str, account_id: AccountDep, container: ContainerDep) -> dict[str, Any]:
    return container.bots.detail(account_id, bot_id)


@router.get("/{bot_id}/remove_bot")
def remove_bot(bot_id: str, account_id: AccountDep, container: ContainerDep) -> dict[str, Any]:
    return container.bots.remove(account_id, bot_id)
