"""The OpenAPI document tells the truth: every status an endpoint answers, its body, and its auth.

FastAPI documents a 422 for every route with parameters, but meetstore answers malformed input
with 400 `invalid_request` (api/errors.py) and never 422. Routes declare their own outcomes with
`ok(...)` and `errors(...)` (404 bot_not_found, 202 media_not_ready, ...); `complete()` then adds
what every route of a family can answer — 400 for anything with input, 401/403 and 429 on the
customer API, 401/403 on the ingest API, 413 for bodies, 431 for huge headers, 503 while the
database is down — declares the two auth schemes, and drops the 422s.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Path
from pydantic import BaseModel

from meetstore.api.schemas.lifecycle import RetentionConfigIn
from meetstore.api.schemas.responses import ErrorOut

Responses = dict[int | str, dict[str, Any]]

BotIdPath = Annotated[
    str,
    Path(
        description="The bot's id (a UUID). Anything else is answered like an unknown bot: 404.",
        json_schema_extra={"format": "uuid"},
    ),
]
TranscriptIdPath = Annotated[
    str,
    Path(
        description="The transcript's id (a UUID). Anything else is answered 404.",
        json_schema_extra={"format": "uuid"},
    ),
]

RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "required": True,
        "schema": {"type": "integer", "minimum": 1},
    }
}

COMMON: dict[int, str] = {
    400: "Malformed input: `invalid_request`, with `errors: [{field, message}]`.",
    401: "No credentials: `not_authenticated`.",
    403: "The credentials are not valid: `invalid_api_key` (`invalid_runtime_token` on the ingest API).",
    413: "The body is larger than the limit (`payload_too_large`).",
    429: "Over the rate limit of this API key (`rate_limited`, `retry_after`).",
    431: "The request headers are larger than 32 KiB (`headers_too_large`).",
    503: "A dependency (the database) is down: `unavailable`; retry after `Retry-After`.",
}

_HEALTH_PATHS = ("/healthz", "/readyz", "/metrics")
_JSON = "application/json"


def ok(model: type[BaseModel], description: str = "Success.", status: int = 200) -> Responses:
    """A success answer of `status` with the body `model` (documentation; the handler returns a dict)."""
    return {status: {"model": model, "description": description}}


def errors(spec: dict[int, str]) -> Responses:
    """Error answers: status → description of the codes it carries (body: the error envelope)."""
    return {status: {"model": ErrorOut, "description": text} for status, text in spec.items()}


def _error_response(status: int, description: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "description": description,
        "content": {_JSON: {"schema": {"$ref": "#/components/schemas/Error"}}},
    }
    if status in (429, 503):
        out["headers"] = dict(RETRY_AFTER)
    return out


def _ensure_error_schema(doc: dict[str, Any]) -> None:
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    if "Error" not in schemas:
        schema = ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, sub in schema.pop("$defs", {}).items():
            schemas.setdefault(name, sub)
        schemas["Error"] = schema


def _document_health(path: str, op: dict[str, Any]) -> None:
    """Liveness, readiness and metrics (their routes live in routes/health.py): fill in what is missing."""
    responses = op.setdefault("responses", {})
    ok_doc = responses.setdefault("200", {"description": "Success."})
    if path == "/metrics":
        ok_doc["content"] = {"text/plain": {"schema": {"type": "string"}}}
    elif path == "/readyz":
        ok_doc.setdefault("content", {_JSON: {"schema": {"type": "object"}}})
        responses.setdefault(
            "503",
            {
                "description": "Not ready: the body names the failing checks (`code: unavailable`).",
                "content": {_JSON: {"schema": {"$ref": "#/components/schemas/Error"}}},
            },
        )
    op["security"] = []


def complete(doc: dict[str, Any]) -> dict[str, Any]:
    """Add the answers every route of a family gives, the auth schemes; drop FastAPI's 422."""
    _ensure_error_schema(doc)
    components = doc["components"]
    components.setdefault("securitySchemes", {}).update(
        {
            "ApiKey": {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "description": "`Authorization: Token <api_key>` (the word Token, not Bearer).",
            },
            "RuntimeToken": {
                "type": "http",
                "scheme": "bearer",
                "description": "The ingest API takes `Authorization: Bearer <MEETSTORE_RUNTIME_TOKEN>`.",
            },
        }
    )
    for name in ("HTTPValidationError", "ValidationError"):
        components.get("schemas", {}).pop(name, None)
    # A body model a handler validates itself (PUT /admin/configs?config_type=retention) is not
    # seen by FastAPI; its schema is referenced from the route's `openapi_extra`.
    components.setdefault("schemas", {}).setdefault(
        RetentionConfigIn.__name__,
        RetentionConfigIn.model_json_schema(ref_template="#/components/schemas/{model}"),
    )

    for path, ops in doc.get("paths", {}).items():
        for op in ops.values():
            responses: dict[str, Any] = op.setdefault("responses", {})
            responses.pop("422", None)
            wanted: list[int] = [431]
            if path in _HEALTH_PATHS:
                _document_health(path, op)
            else:
                wanted.append(503)
            body = op.get("requestBody")
            if body or any(p.get("in") != "path" for p in op.get("parameters", [])):
                wanted.append(400)
            if body and _JSON in body.get("content", {}):
                wanted.append(413)
            if path.startswith("/api/"):
                op["security"] = [{"ApiKey": []}]
                wanted += [401, 403, 429]
            elif path.startswith("/internal/"):
                op["security"] = [{"RuntimeToken": []}]
                wanted += [401, 403]
            else:
                op.setdefault("security", [])
            for status in wanted:
                if str(status) not in responses:
                    responses[str(status)] = _error_response(status, COMMON[status])
                elif status in (429, 503):
                    responses[str(status)].setdefault("headers", dict(RETRY_AFTER))
            op["responses"] = dict(sorted(responses.items()))
    return doc


def install_openapi(app: FastAPI) -> None:
    """Serve the completed document at /openapi.json (built once, on first use)."""
    base = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(base())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
