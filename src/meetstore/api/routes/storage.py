"""Storage configuration (API.md, "Storage configuration")."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query

from meetstore.api.deps import AccountDep, ContainerDep
from meetstore.api.openapi import errors, ok
from meetstore.api.schemas.responses import (
    EmptyOut,
    ExternalIdOut,
    StorageConfigGetOut,
    StorageConfigOut,
    ValidationOut,
)
from meetstore.api.schemas.storage import StorageConfigIn

router = APIRouter(prefix="/api/v1/admin", tags=["storage"])

REFUSED = errors(
    {
        400: "Malformed input (`invalid_request`); the live check failed (`storage_validation_failed`, "
        "with `s3_error`, `operation`, `key`); or endpoint_url/webhook_url points at a private address "
        "(`endpoint_not_allowed`).",
    }
)
ConfigType = Literal["storage"]


@router.put(
    "/configs",
    response_model=None,
    responses={**ok(StorageConfigOut, "Validated and saved: the configuration as GET shows it."), **REFUSED},
)
def put_storage_config(
    body: StorageConfigIn,
    account_id: AccountDep,
    container: ContainerDep,
    config_type: ConfigType = Query(),
) -> dict[str, Any]:
    return container.storage.put(account_id, body.to_input())


@router.get("/configs", response_model=None, responses=ok(StorageConfigGetOut, "`{}` when none is set."))
def get_storage_config(account_id: AccountDep, container: ContainerDep) -> dict[str, Any]:
    view = container.storage.get(account_id)
    return {} if view is None else {"storage": view}


@router.delete(
    "/configs",
    response_model=None,
    responses={
        **ok(EmptyOut, "Removed; the stored credentials are erased."),
        **errors({404: "No configuration is set: `storage_not_configured`."}),
    },
)
def delete_storage_config(
    account_id: AccountDep, container: ContainerDep, key_name: Literal["aws"] = Query()
) -> dict[str, Any]:
    container.storage.delete(account_id)
    return {}


@router.post(
    "/configs/validate",
    response_model=None,
    responses={**ok(ValidationOut, "The checks that ran; nothing is saved."), **REFUSED},
)
def validate_storage_config(
    body: StorageConfigIn,
    account_id: AccountDep,
    container: ContainerDep,
    config_type: ConfigType = Query(),
    deep: bool = Query(default=False),
) -> dict[str, Any]:
    if deep:
        return container.storage.diagnose(account_id, body.to_input())
    checks = container.storage.validate(account_id, body.to_input())
    return {"valid": True, "checks": checks}


@router.get("/configs/external_id", response_model=None, responses=ok(ExternalIdOut))
def get_external_id(account_id: AccountDep, container: ContainerDep) -> dict[str, Any]:
    """The sts:ExternalId to put in your role's trust policy before saving a role_arn configuration."""
    return {"external_id": container.storage.external_id(account_id)}
