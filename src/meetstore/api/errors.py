"""The one place domain errors become HTTP responses (API.md's envelope: message, code, details)."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match

from meetstore import errors as e

log = logging.getLogger("meetstore.api")

STATUS_OF: list[tuple[type[e.MeetstoreError], int]] = [
    (e.InvalidRequest, 400),
    (e.StorageValidationFailed, 400),
    (e.EndpointNotAllowed, 400),
    (e.NotAuthenticated, 401),
    (e.InvalidApiKey, 403),
    (e.AccessRefused, 403),
    (e.NotFound, 404),
    (e.MediaNotReady, 202),
    (e.Conflict, 409),
    (e.PayloadTooLarge, 413),
    (e.RateLimited, 429),
    (e.NotSupported, 501),
    (e.S3OperationError, 502),
    (e.Unavailable, 503),
    (e.InsufficientStorage, 507),
]


def next_step_sentence(step: e.NextStep) -> str:
    """The call that takes the caller's next step, as a sentence that ends an error's message."""
    if step.remedy is e.Remedy.RETRY_UPLOADS:
        return f"After fixing it, call POST /api/v1/bots/{step.bot_id}/retry_uploads to upload it again."
    assert step.remedy is e.Remedy.USE_READ_WRITE
    return "To switch: PUT /api/v1/admin/configs?config_type=storage with access_mode 'read_write'."


def status_for(exc: e.MeetstoreError) -> int:
    for cls, status in STATUS_OF:
        if isinstance(exc, cls):
            return status
    return 500


def envelope(message: str, code: str, **details: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"message": message, "code": code}
    body.update({k: v for k, v in details.items()})
    return body


def error_response(exc: e.MeetstoreError) -> JSONResponse:
    status = status_for(exc)
    headers: dict[str, str] = {}
    if isinstance(exc, e.RateLimited):
        headers["Retry-After"] = str(exc.retry_after_s)
    if isinstance(exc, e.Unavailable):
        headers["Retry-After"] = "5"
    message = exc.message if exc.next_step is None else f"{exc.message} {next_step_sentence(exc.next_step)}"
    return JSONResponse(envelope(message, exc.code, **exc.details), status_code=status, headers=headers)


def _field_name(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or "body"


def validation_errors(exc: RequestValidationError) -> list[dict[str, str]]:
    """Field and message only: pydantic's `input` may hold a secret and is never echoed."""
    out: list[dict[str, str]] = []
    for err in exc.errors():
        msg = str(err.get("msg", "invalid value"))
        if err.get("type") == "json_invalid":
            out.append({"field": "body", "message": "the body is not valid JSON"})
            continue
        if err.get("type") == "extra_forbidden":
            msg = "unknown field"
        out.append({"field": _field_name(tuple(err.get("loc", ()))), "message": msg})
    return out


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (Starlette's 405 names only the first route's)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        if isinstance(route, BaseRoute) and route.matches(request.scope)[0] is not Match.NONE:
            methods.update(getattr(route, "methods", None) or ())
    return sorted(methods)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(e.MeetstoreError)
    async def _domain(_req: Request, exc: e.MeetstoreError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_req: Request, exc: RequestValidationError) -> JSONResponse:
        errors = validation_errors(exc)
        first = errors[0] if errors else {"field": "body", "message": "invalid"}
        return JSONResponse(
            envelope(
                f"Invalid request: {first['field']}: {first['message']}", "invalid_request", errors=errors
            ),
            status_code=400,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(req: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # FastAPI could not parse the body at all (e.g. a JSON integer of more digits than
            # Python converts): malformed input like any other, never an unnamed error.
            return JSONResponse(
                envelope(
                    "Invalid request: body: the body could not be parsed as JSON",
                    "invalid_request",
                    errors=[{"field": "body", "message": "the body could not be parsed as JSON"}],
                ),
                status_code=400,
            )
        code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
            exc.status_code, "error"
        )
        message = {404: "No such endpoint.", 405: "Method not allowed on this endpoint."}.get(
            exc.status_code, str(exc.detail)
        )
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(req))
        return JSONResponse(envelope(message, code), status_code=exc.status_code, headers=headers or None)

    @app.exception_handler(Exception)
    async def _unexpected(_req: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled error: %s", type(exc).__name__)
        return JSONResponse(
            envelope("Internal error; the team has been told.", "internal_error"), status_code=500
        )
