"""POST /bots/{bot_id}/retry_uploads (extension)."""

from __future__ import annotations

from fastapi import APIRouter

from meetstore.api.deps import AccountDep, ContainerDep
from meetstore.api.openapi import BotIdPath, errors, ok
from meetstore.api.schemas.responses import RetryOut

router = APIRouter(prefix="/api/v1", tags=["bots"])


@router.post(
    "/bots/{bot_id}/retry_uploads",
    status_code=202,
    summary="Upload again every artifact of the bot whose upload failed (extension)",
    response_model=RetryOut,
    responses={
        **ok(RetryOut, "The failed artifacts are queued again.", 202),
        **errors(
            {
                404: "No such bot in this account (also a malformed id): `bot_not_found`.",
                409: "No upload of this bot failed: `nothing_to_retry`.",
            }
        ),
    },
)
def retry_uploads(bot_id: BotIdPath, account_id: AccountDep, container: ContainerDep) -> RetryOut:
    """After fixing the bucket or the IAM policy: 202 `{"retrying": N}`; 409 `nothing_to_retry`."""
    return RetryOut(retrying=container.retry.retry(account_id, bot_id))
