"""POST /bots/{bot_id}/retry_uploads (extension). Issue 3."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
