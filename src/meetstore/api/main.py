"""The process entry point uvicorn imports (`meetstore serve`): settings from the environment."""

from __future__ import annotations

from fastapi import FastAPI

from meetstore.api.app import create_app, tune_gc_for_serving
from meetstore.background import background_hooks
from meetstore.config import Settings
from meetstore.container import build_container
from meetstore.logging_setup import configure_logging


def app_factory() -> FastAPI:
    settings = Settings()
    configure_logging(settings.log_level)
    container = build_container(settings)
    app = create_app(container, background=background_hooks(with_workers=settings.upload_worker))
    tune_gc_for_serving()
    return app
