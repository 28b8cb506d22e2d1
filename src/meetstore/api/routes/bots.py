"""Bot endpoints (create, list, status, detail, remove, retry_uploads). Issue 3."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
