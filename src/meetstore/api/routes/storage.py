"""Storage and retention configuration (API.md, "Storage configuration", "Data lifecycle").

`PUT /admin/configs` takes the body `config_type` names, so the handler validates it itself against
that type's model (the OpenAPI document lists both); its errors have the same `field` names as a
body FastAPI validated.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, Body, Query
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ValidationError

from meetstore.api.deps import AccountDep, ContainerDep
from meetstore.api.openapi import errors, ok
from meetstore.api.presenters import storage as present
from meetstore.api.schemas.lifecycle import LifecycleRuleOut, RetentionConfigIn, RetentionConfigOut
from meetstore.api.schemas.responses import (
    EmptyOut,
    ExternalIdOut,
    IamPolicyOut,
    StorageConfigGetOut,
    StorageConfigOut,
    ValidationOut,
)
from meetstore.api.schemas.storage import IamPolicyIn, StorageConfigIn
from meetstore.domain.iam_policy import minimum_policy

router = APIRouter(prefix="/api/v1/admin", tags=["storage"])

REFUSED = errors(
    {
        400: "Malformed input (`invalid_request`); the live check failed (`storage_validation_failed`, "
        "with `s3_error`, `operation`, `key`); or endpoint_url/webhook_url points at a private address "
        "(`endpoint_not_allowed`).",
    }
)
ConfigType = Literal["storage"]
M = TypeVar("M", bound=BaseModel)


def _parsed(model: type[M], body: Any) -> M:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**err, "loc": ("body", *err["loc"])} for err in exc.errors()]
        ) from None


EITHER_BODY = {
    "requestBody": {
        "content": {
            "application/json": {
                "schema": {
                    "anyOf": [
                        {"$ref": "#/components/schemas/StorageConfigIn"},
                        {"$ref": "#/components/schemas/RetentionConfigIn"},
                    ]
                }
            }
        }
    }
}


@router.put(
    "/configs",
    response_model=StorageConfigOut | RetentionConfigOut,
    openapi_extra=EITHER_BODY,
    responses={
        200: {
            "description": "Saved: the storage configuration (validated live first) or the retention "
            "default, as GET shows it.",
        },
        **REFUSED,
    },
)
def put_config(
    body: Annotated[
        dict[str, Any], Body(description="StorageConfigIn or RetentionConfigIn, by config_type.")
    ],
    account_id: AccountDep,
    container: ContainerDep,
    config_type: Literal["storage", "retention"] = Query(),
) -> StorageConfigOut | RetentionConfigOut:
    if config_type == "retention":
        policy = _parsed(RetentionConfigIn, body).policy()
        return RetentionConfigOut(**container.retention.put(account_id, policy).as_dict())
    return present.config(container.storage.put(account_id, _parsed(StorageConfigIn, body).to_input()))


@router.get(
    "/configs",
    response_model=StorageConfigGetOut,
    # `{}` when nothing is configured, not `{"storage": null}`: MeetStream's answer.
    response_model_exclude_unset=True,
    responses=ok(StorageConfigGetOut, "`{}` when none is set."),
)
def get_storage_config(account_id: AccountDep, container: ContainerDep) -> StorageConfigGetOut:
    view = container.storage.get(account_id)
    retention = container.retention.get(account_id)
    out = StorageConfigGetOut() if view is None else StorageConfigGetOut(storage=present.config(view))
    if retention is not None:
        out.retention = RetentionConfigOut(**retention.as_dict())
    return out


@router.delete(
    "/configs",
    response_model=EmptyOut,
    responses={
        **ok(EmptyOut, "Removed; for `aws` the stored credentials are erased (the bucket is untouched)."),
        **errors(
            {404: "Nothing of that kind is set: `storage_not_configured` / `retention_not_configured`."}
        ),
    },
)
def delete_storage_config(
    account_id: AccountDep, container: ContainerDep, key_name: Literal["aws", "retention"] = Query()
) -> EmptyOut:
    if key_name == "retention":
        container.retention.delete(account_id)
    else:
        container.storage.delete(account_id)
    return EmptyOut()


@router.get(
    "/configs/lifecycle_rule",
    response_model=LifecycleRuleOut,
    responses={
        **ok(LifecycleRuleOut, "An S3 LifecycleConfiguration for `put-bucket-lifecycle-configuration`."),
        **errors(
            {
                404: "No storage configuration (`storage_not_configured`) or media is kept forever "
                "(`no_retention`).",
                409: "A prefix is empty, so a rule would expire the whole bucket: `prefix_required`.",
            }
        ),
    },
)
def get_lifecycle_rule(account_id: AccountDep, container: ContainerDep) -> LifecycleRuleOut:
    """Expire the account's prefixes after its default retention (whole days, rounded up)."""
    return LifecycleRuleOut(**container.retention.lifecycle_rule(account_id))


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
    report = (
        container.storage.diagnose(account_id, data) if deep else container.storage.validate(account_id, data)
    )
    return present.validation(report)


@router.get("/configs/external_id", response_model=ExternalIdOut, responses=ok(ExternalIdOut))
def get_external_id(account_id: AccountDep, container: ContainerDep) -> ExternalIdOut:
    """The sts:ExternalId to put in your role's trust policy before saving a role_arn configuration."""
    return ExternalIdOut(external_id=container.storage.external_id(account_id))


@router.post(
    "/configs/iam_policy",
    response_model=IamPolicyOut,
    response_model_exclude_none=True,
    responses={**ok(IamPolicyOut, "The policy to attach; nothing is checked or saved."), **errors({400: "Malformed input."})},
)
def iam_policy(body: IamPolicyIn, account_id: AccountDep, container: ContainerDep) -> IamPolicyOut:
    """The minimum IAM policy for exactly this body's bucket, prefixes and access mode (the body of
    `PUT /admin/configs`; credentials may be left out); with `role_arn`, the role's trust policy."""
    answer = minimum_policy(
        body.policy_request(),
        external_id=container.storage.external_id(account_id),
        principal_arn=container.settings.role_principal_arn,
    )
    return IamPolicyOut(policy=answer.policy, notes=list(answer.notes), trust_policy=answer.trust_policy)
