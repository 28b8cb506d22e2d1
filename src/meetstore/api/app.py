"""The FastAPI app factory. Everything it needs comes from the container it is given."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from meetstore import __version__
from meetstore.api import console
from meetstore.api.errors import install_error_handlers
from meetstore.api.limits import RequestLimits
from meetstore.api.middleware import BodyLimitMiddleware
from meetstore.api.openapi import install_openapi
from meetstore.api.routes import (
    audit,
    bot_controls,
    bots,
    fetch,
    files,
    health,
    ingest,
    not_supported,
    ping,
    storage,
    uploads,
)
from meetstore.background import Hook
from meetstore.container import Container

GC_GEN0_THRESHOLD = 10_000


def tune_gc_for_serving() -> None:
    """For a long-running API process, once everything is imported and built: move the objects
    alive now (modules, the container, the app: ~150,000 objects) out of the collector's sight
    (`gc.freeze`), and collect the youngest generation less often: full collections of those
    objects pause the event loop and set the p99 latency (docs/performance.md). Request objects
    die by reference counting; cyclic garbage is still collected, a little later."""
    gc.collect()
    gc.freeze()
    _gen0, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(GC_GEN0_THRESHOLD, gen1, gen2)


def create_app(container: Container, *, background: list[Hook] | None = None) -> FastAPI:
    hooks = list(background or [])

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        stops = [hook(container) for hook in hooks]
        try:
            yield
        finally:
            for stop in reversed(stops):
                stop()

    app = FastAPI(
        title="meetstore",
        version=__version__,
        description="MeetStream-compatible media storage API (custom S3 storage, uploads, presigned fetch).",
        lifespan=lifespan,
        # meetstore's own metrics (/metrics, Prometheus) and logs are its observability; FastAPI's
        # OpenTelemetry instrumentation, on by default, would look up OTel's providers in the
        # environment on every request with none configured.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.container = container
    app.state.background_tasks = set()  # tasks a request started and does not wait for
    settings = container.settings
    app.state.limits = RequestLimits(settings)
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    install_error_handlers(app)
    # Routes are matched in order: the fetch endpoints, which clients poll, come first, so no
    # other router is tried before them on every poll.
    app.include_router(fetch.router)
    app.include_router(health.router)
    app.include_router(storage.router)
    app.include_router(bots.router)
    app.include_router(files.router)
    app.include_router(ingest.router)
    app.include_router(uploads.router)
    app.include_router(ping.router)
    app.include_router(audit.router)
    app.include_router(bot_controls.router)
    app.include_router(not_supported.router)
    console.install(app)
    install_openapi(app)
    return app
