"""Response models of the audit trail (API.md "Audit trail")."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from meetstore.domain.audit import ACTIONS

AuditAction = Literal[ACTIONS]  # type: ignore[valid-type]


class ActorOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    api_key_id: str | None = Field(
        description="The API key that acted (an id, never the key); null for the platform."
    )
    address: str | None = Field(
        description="The client's address (X-Forwarded-For only from trusted proxies)."
    )


class AuditEventOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    at: str
    action: AuditAction
    actor: ActorOut
    bot_id: str | None = None
    detail: dict[str, Any]
    prev_hash: str = Field(description="The hash of the account's entry before this one (the chain).")
    hash: str = Field(description="SHA-256 of prev_hash and this entry's canonical JSON.")


class AuditPageOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    events: list[AuditEventOut]
    next_cursor: str | None
