"""A response model sent as JSON by the handler that built it."""

from __future__ import annotations

from fastapi.responses import Response
from pydantic import BaseModel


def json_body(model: BaseModel, status_code: int = 200) -> Response:
    """`model` as FastAPI's `response_model` would send it (fields by alias, compact JSON), without
    validating again a model the presenter has just built and validated."""
    return Response(model.model_dump_json(by_alias=True), status_code=status_code, media_type="application/json")
