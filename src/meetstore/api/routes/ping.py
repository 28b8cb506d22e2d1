"""`GET /api/v1/ping` (extension): an authenticated no-op. Clients use it to check a key; the fetch
benchmark uses it as its baseline (the cost of the HTTP stack and authentication alone)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from meetstore.api.deps import AccountDep
from meetstore.api.openapi import ok

router = APIRouter(prefix="/api/v1", tags=["ping"])


class PingOut(BaseModel):
    model_config = ConfigDict(extra="allow", title="Ping")

    status: Literal["ok"]
    account_id: str = Field(description="The account the API key belongs to.")


@router.get("/ping", response_model=PingOut, responses=ok(PingOut, "The API key is valid."))
async def ping(account_id: AccountDep) -> PingOut:
    """200 `{"status": "ok", "account_id": ...}` for a valid key; 401/403 like every endpoint."""
    return PingOut(status="ok", account_id=account_id)
