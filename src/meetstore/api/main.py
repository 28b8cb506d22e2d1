"""The process entry point uvicorn imports (`meetstore serve`): settings from the environment."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from meetstore.api.app import create_app, tune_gc_for_serving
from meetstore.background import background_hooks
from meetstore.config import Settings
from meetstore.container import build_container
from meetstore.logging_setup import configure_logging

SERVER_OPTIONS: dict[str, Any] = {"access_log": False, "proxy_headers": False}
"""uvicorn's options for every API process (and the tests' servers, which must behave the same):
no access log, and no rewriting of the client's address from X-Forwarded-For. uvicorn's default
believes that header from 127.0.0.1; meetstore believes it only from MEETSTORE_TRUSTED_PROXIES
(api/client_address.py), for the audit trail and the budget of failed authentications alike."""


def app_factory() -> FastAPI:
    settings = Settings()
    configure_logging(settings.log_level)
    container = build_container(settings)
    app = create_app(container, background=background_hooks(with_workers=settings.upload_worker))
    tune_gc_for_serving()
    return app
