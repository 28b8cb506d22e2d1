"""POST /bots/{bot_id}/retry_uploads (extension). Issue 3."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from meetstore.api.deps import AccountDep, ContainerDep

router = APIRouter(prefix="/api/v1", tags=["bots"])


@router.post(
    "/bots/{bot_id}/retry_uploads",
    status_code=202,
    summary="Upload again every artifact of the bot whose upload failed (extension)",
)
def retry_uploads(bot_id: str, account_id: AccountDep, container: ContainerDep) -> JSONResponse:
    """After fixing the bucket or the IAM policy: 202 `{"retrying": N}`; 409 `nothing_to_retry`."""
    retrying = container.uploads.retry(account_id, bot_id)
    return JSONResponse({"retrying": retrying}, status_code=202)
