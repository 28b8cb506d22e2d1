"""The process entry point uvicorn imports (`meetstore serve`): settings from the environment."""

from __future__ import annotations

import os

from fastapi import FastAPI

from meetstore.api.app import create_app, tune_gc_for_serving
from meetstore.config import Settings
from meetstore.container import build_container
from meetstore.logging_setup import configure_logging
from meetstore.wiring import background_hooks


def app_factory() -> FastAPI:
    settings = Settings()
    configure_logging(settings.log_level)
    container = build_container(settings)
    with_worker = os.environ.get("MEETSTORE_UPLOAD_WORKER", "true").lower() not in ("0", "false", "no")
    app = create_app(container, background=background_hooks(with_upload_worker=with_worker))
    tune_gc_for_serving()
    return app
