"""Fetch endpoints (presigned URLs, inline JSON). Issue 4."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
