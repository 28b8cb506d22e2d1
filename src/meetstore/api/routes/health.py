"""Liveness, readiness and metrics (no auth)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response

from meetstore.api.deps import ContainerDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, Any]:
    return {"status": "ok"}


@router.get("/readyz")
def readyz(container: ContainerDep) -> JSONResponse:
    checks: dict[str, bool] = {"database": container.db.ping()}
    probe = container.__dict__.get("workers_alive")
    if callable(probe):
        checks["workers"] = bool(probe())
    ready = all(checks.values())
    body = {"status": "ready" if ready else "unavailable", "checks": checks}
    if not ready:
        body["code"] = "unavailable"
        body["message"] = "Not ready: " + ", ".join(k for k, ok in checks.items() if not ok) + " failing."
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics")
def metrics() -> Response:
    from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
