"""Local platform store downloads: /files/<signed token>, with Range. Issue 4."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
