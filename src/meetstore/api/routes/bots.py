"""Bot endpoints (MeetStream names): create, list, status, detail, remove, delete data."""

from __future__ import annotations

from fastapi import APIRouter, Header, Query
from fastapi.responses import JSONResponse

from meetstore.api.deps import AccountDep, ContainerDep
from meetstore.api.openapi import BotIdPath, errors, ok
from meetstore.api.presenters import bots as present
from meetstore.api.schemas.bots import CreateBotIn
from meetstore.api.schemas.lifecycle import DeletedOut, DeletionAcceptedOut
from meetstore.api.schemas.responses import (
    BotCreatedOut,
    BotDetailOut,
    BotListOut,
    BotStatusOut,
    RemoveBotOut,
)
from meetstore.services.bots import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE

router = APIRouter(prefix="/api/v1/bots", tags=["bots"])

REPLAY_STATUS = 507
"""MeetStream answers an Idempotency-Key replay with 507 and the original bot."""

NOT_FOUND = errors({404: "No such bot in this account (also a malformed id): `bot_not_found`."})


@router.post(
    "/create_bot",
    status_code=201,
    response_model=None,
    responses={
        **ok(BotCreatedOut, "The bot was created and is joining.", 201),
        **ok(BotCreatedOut, "An Idempotency-Key replay: the original bot, as MeetStream answers.", 507),
        **errors(
            {
                400: "Malformed input (`invalid_request`), or a callback_url that points at a private "
                "address (`endpoint_not_allowed`)."
            }
        ),
    },
)
def create_bot(
    body: CreateBotIn,
    account_id: AccountDep,
    container: ContainerDep,
    idempotency_key: str | None = Header(default=None, alias="Idempotency-Key"),
) -> JSONResponse:
    created = container.bots.create(account_id, body.to_input(), idempotency_key)
    rendered = present.created(created.bot).model_dump(mode="json")
    return JSONResponse(rendered, status_code=REPLAY_STATUS if created.replay else 201)


@router.get("", response_model=BotListOut, responses=ok(BotListOut, "The account's bots, newest first."))
def list_bots(
    account_id: AccountDep,
    container: ContainerDep,
    limit: int = Query(default=DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE),
    cursor: str | None = Query(default=None, max_length=512),
) -> BotListOut:
    return present.page(container.bots.list(account_id, limit=limit, cursor=cursor))


@router.get("/{bot_id}/status", response_model=BotStatusOut, responses={**ok(BotStatusOut), **NOT_FOUND})
def bot_status(bot_id: BotIdPath, account_id: AccountDep, container: ContainerDep) -> BotStatusOut:
    return present.state(container.bots.status(account_id, bot_id))


@router.get("/{bot_id}/detail", response_model=BotDetailOut, responses={**ok(BotDetailOut), **NOT_FOUND})
def bot_detail(bot_id: BotIdPath, account_id: AccountDep, container: ContainerDep) -> BotDetailOut:
    return present.detail(container.bots.detail(account_id, bot_id))


@router.get("/{bot_id}/remove_bot", response_model=RemoveBotOut, responses={**ok(RemoveBotOut), **NOT_FOUND})
def remove_bot(bot_id: BotIdPath, account_id: AccountDep, container: ContainerDep) -> RemoveBotOut:
    return present.removed(container.bots.remove(account_id, bot_id))


DELETE_OUTCOMES = {
    **ok(DeletedOut, "Erased within a few seconds: the receipt (the same receipt on a repeat)."),
    **ok(
        DeletionAcceptedOut,
        "The erasure is under way: the receipt arrives in detail and the data_deletion webhook.",
        202,
    ),
    **errors(
        {
            400: "scope is not `all` or `platform`: `invalid_request`.",
            404: "No such bot in this account: `bot_not_found`.",
            409: "The bot is still in its meeting: `bot_in_meeting`.",
        }
    ),
}


def _delete(bot_id: str, account_id: str, container: ContainerDep, scope: str | None) -> JSONResponse:
    answer = container.erasures.erase(account_id, bot_id, scope)
    rendered = present.deletion(answer)
    return JSONResponse(
        rendered.model_dump(mode="json", exclude_none=True), status_code=200 if answer.receipt else 202
    )


SCOPE = Query(
    default=None,
    description="`all` (default) or `platform`: leave the customer's bucket untouched.",
    # Checked by the service (a 400 in the house style, not FastAPI's 422), documented as an enum.
    json_schema_extra={"enum": ["all", "platform"]},
)


@router.delete("/{bot_id}/delete", response_model=None, responses=DELETE_OUTCOMES)
def delete_bot_data(
    bot_id: BotIdPath, account_id: AccountDep, container: ContainerDep, scope: str | None = SCOPE
) -> JSONResponse:
    """Erase the bot's media and meeting data everywhere meetstore reaches (the SDK's delete_data)."""
    return _delete(bot_id, account_id, container, scope)


@router.get("/{bot_id}/delete_data", response_model=None, responses=DELETE_OUTCOMES)
def delete_data(
    bot_id: BotIdPath, account_id: AccountDep, container: ContainerDep, scope: str | None = SCOPE
) -> JSONResponse:
    """The same erasure under MeetStream's reference name."""
    return _delete(bot_id, account_id, container, scope)
