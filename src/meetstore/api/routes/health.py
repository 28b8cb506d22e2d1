"""Liveness, readiness and metrics (no auth)."""

from __future__ import annotations

from collections.abc import Callable
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
    """Ready: the database answers and every in-process worker thread is alive (503 otherwise)."""
    checks: dict[str, bool] = {"database": container.db.ping()}
    workers = {name: _alive(probe) for name, probe in sorted(container.liveness.items())}
    if workers:
        checks["workers"] = all(workers.values())
    ready = all(checks.values())
    body: dict[str, Any] = {"status": "ready" if ready else "unavailable", "checks": checks}
    if workers:
        body["workers"] = workers
    headers: dict[str, str] = {}
    if not ready:
        body["code"] = "unavailable"
        body["message"] = "Not ready: " + ", ".join(k for k, ok in checks.items() if not ok) + " failing."
        headers["Retry-After"] = "5"
    return JSONResponse(body, status_code=200 if ready else 503, headers=headers)


def _alive(probe: Callable[[], bool]) -> bool:
    try:
        return bool(probe())
    except Exception:
        return False


@router.get("/metrics")
def metrics(container: ContainerDep) -> Response:
    """The application's counters and histograms, and the outboxes' depth (Prometheus text)."""
    from prometheus_client import CONTENT_TYPE_LATEST

    return Response(container.metrics.render(), media_type=CONTENT_TYPE_LATEST)
