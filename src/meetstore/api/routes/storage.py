"""Storage configuration (API.md, "Storage configuration")."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from meetstore.api.deps import AccountDep, ContainerDep
from meetstore.api.schemas.storage import StorageConfigIn
from meetstore.errors import InvalidRequest

router = APIRouter(prefix="/api/v1/admin", tags=["storage"])


def _require(value: str | None, expected: str, name: str) -> None:
    if value != expected:
        raise InvalidRequest(
            f"Query parameter {name} must be '{expected}'.",
            [{"field": name, "message": f"must be '{expected}'"}],
        )


@router.put("/configs")
def put_storage_config(
    body: StorageConfigIn,
    account_id: AccountDep,
    container: ContainerDep,
    config_type: str | None = Query(default=None),
) -> dict[str, Any]:
    _require(config_type, "storage", "config_type")
    return container.storage.put(account_id, body.to_input())


@router.get("/configs")
def get_storage_config(account_id: AccountDep, container: ContainerDep) -> dict[str, Any]:
    view = container.storage.get(account_id)
    return {} if view is None else {"storage": view}


@router.delete("/configs")
def delete_storage_config(
    account_id: AccountDep, container: ContainerDep, key_name: str | None = Query(default=None)
) -> dict[str, Any]:
    _require(key_name, "aws", "key_name")
    container.storage.delete(account_id)
    return {}


@router.post("/configs/validate")
def validate_storage_config(
    body: StorageConfigIn,
    account_id: AccountDep,
    container: ContainerDep,
    config_type: str | None = Query(default=None),
    deep: bool = Query(default=False),
) -> dict[str, Any]:
    _require(config_type, "storage", "config_type")
    if deep:
        return container.storage.diagnose(account_id, body.to_input())
    checks = container.storage.validate(account_id, body.to_input())
    return {"valid": True, "checks": checks}


@router.get("/configs/external_id")
def get_external_id(account_id: AccountDep, container: ContainerDep) -> dict[str, Any]:
    """The sts:ExternalId to put in your role's trust policy before saving a role_arn configuration."""
    return {"external_id": container.storage.external_id(account_id)}
