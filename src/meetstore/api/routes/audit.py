"""GET /api/v1/audit: the caller's account's audit trail, newest first."""

from __future__ import annotations

from fastapi import APIRouter, Query

from meetstore.api.deps import AccountDep, ContainerDep
from meetstore.api.openapi import errors, ok
from meetstore.api.schemas.audit import AuditEventOut, AuditPageOut
from meetstore.domain.audit import ACTIONS
from meetstore.services.audit_views import DEFAULT_LIMIT, MAX_LIMIT

router = APIRouter(prefix="/api/v1", tags=["audit"])


@router.get(
    "/audit",
    response_model=AuditPageOut,
    responses={
        **ok(AuditPageOut, "A page of entries, newest first; `next_cursor` null on the last page."),
        **errors({400: "A bad limit, cursor, bot_id or action: `invalid_request`."}),
    },
)
def get_audit(
    account_id: AccountDep,
    container: ContainerDep,
    limit: int = Query(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description=f"1 to {MAX_LIMIT}."),
    cursor: str | None = Query(default=None, description="The next_cursor of the previous page."),
    bot_id: str | None = Query(
        default=None, description="Only this bot's entries (its id, a UUID).", json_schema_extra={"format": "uuid"}
    ),
    action: str | None = Query(
        default=None, description="Only this action.", json_schema_extra={"enum": list(ACTIONS)}
    ),
) -> AuditPageOut:
    page = container.audit_views.page(account_id, limit=limit, cursor=cursor, bot_id=bot_id, action=action)
    return AuditPageOut(
        events=[AuditEventOut.model_validate(e) for e in page.events], next_cursor=page.next_cursor
    )
