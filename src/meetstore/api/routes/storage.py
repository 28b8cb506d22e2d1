"""Storage configuration (API.md, "Storage configuration")."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Query

from meetstore.api.deps import AccountDep, ContainerDep
from meetstore.api.openapi import errors, ok
from meetstore.api.presenters import storage as present
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
    response_model=StorageConfigOut,
    responses={**ok(StorageConfigOut, "Validated and saved: the configuration as GET shows it."), **REFUSED},
)
def put_storage_config(
    body: StorageConfigIn,
    account_id: AccountDep,
    container: ContainerDep,
    config_type: ConfigType = Query(),
) -> StorageConfigOut:
    return present.config(container.storage.put(account_id, body.to_input()))


@router.get(
    "/configs",
    response_model=StorageConfigGetOut,
    # `{}` when nothing is configured, not `{"storage": null}`: MeetStream's answer.
    response_model_exclude_unset=True,
    responses=ok(StorageConfigGetOut, "`{}` when none is set."),
)
def get_storage_config(account_id: AccountDep, container: ContainerDep) -> StorageConfigGetOut:
    view = container.storage.get(account_id)
    return StorageConfigGetOut() if view is None else StorageConfigGetOut(storage=present.config(view))


@router.delete(
    "/configs",
    response_model=EmptyOut,
    responses={
        **ok(EmptyOut, "Removed; the stored credentials are erased."),
        **errors({404: "No configuration is set: `storage_not_configured`."}),
    },
)
def delete_storage_config(
    account_id: AccountDep, container: ContainerDep, key_name: Literal["aws"] = Query()
) -> EmptyOut:
    container.storage.delete(account_id)
    return EmptyOut()


@router.post(
    "/configs/validate",
    response_model=ValidationOut,
    # The deep check names the access mode it judged; the plain check's body has no such field.
    response_model_exclude_unset=True,
    responses={**ok(ValidationOut, "The checks that ran; nothing is saved."), **REFUSED},
)
def validate_storage_config(
    body: StorageConfigIn,
    account_id: AccountDep,
    container: ContainerDep,
    config_type: ConfigType = Query(),
    deep: bool = Query(default=False),
) -> ValidationOut:
    data = body.to_input()
    report = container.storage.diagnose(account_id, data) if deep else container.storage.validate(account_id, data)
    return present.validation(report)


@router.get("/configs/external_id", response_model=ExternalIdOut, responses=ok(ExternalIdOut))
def get_external_id(account_id: AccountDep, container: ContainerDep) -> ExternalIdOut:
    """The sts:ExternalId to put in your role's trust policy before saving a role_arn configuration."""
    return ExternalIdOut(external_id=container.storage.external_id(account_id))
