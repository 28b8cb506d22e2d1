"""The ingest API for bot runtimes (runtime token). Issue 3."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
