"""Console: the storage configuration in force, the form of `PUT /admin/configs`, the deep
validation, the minimum IAM policy for exactly the form, and deleting the configuration.

The form is read into the API's own body model (`StorageConfigIn`), so every rule is the API's;
the credentials typed into it are never rendered back.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from meetstore.api.console.session import Page, container_of, error_page, posted, redirect, render, user_of
from meetstore.api.errors import status_for
from meetstore.api.presenters import storage as present
from meetstore.api.schemas.storage import StorageConfigIn
from meetstore.domain.iam_policy import PolicyAnswer, minimum_policy
from meetstore.errors import InvalidRequest, MeetstoreError
from meetstore.services.console_sessions import ConsoleUser

router = APIRouter(prefix="/console", include_in_schema=False)

TEXT_FIELDS = ("bucket_name", "region", "prefix", "endpoint_url", "role_arn", "kms_key_id")
PREFIX_FIELDS = ("audio", "video", "transcript", "metadata")


def body_of(form: dict[str, str]) -> dict[str, Any]:
    """The JSON body of PUT /admin/configs that the form describes (empty fields left out)."""
    body: dict[str, Any] = {"provider": "aws", "access_mode": form.get("access_mode") or "read_write"}
    for name in (*TEXT_FIELDS, "access_key_id", "secret_key", "server_side_encryption"):
        value = form.get(name, "").strip()
        if value:
            body[name] = value
    body.setdefault("prefix", "")
    prefixes = {c: form[f"prefix_{c}"].strip() for c in PREFIX_FIELDS if form.get(f"prefix_{c}", "").strip()}
    if prefixes:
        body["prefixes"] = prefixes
    return body


def parsed(form: dict[str, str]) -> StorageConfigIn:
    try:
        return StorageConfigIn.model_validate(body_of(form))
    except ValidationError as exc:
        problems = [{"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()]
        first = problems[0]
        raise InvalidRequest(f"{first['field']}: {first['message']}", problems) from None


def _form_from_config(config: dict[str, Any] | None) -> dict[str, str]:
    if config is None:
        return {"access_mode": "read_write", "region": "us-east-1", "prefix": "meetstream"}
    form = {k: str(config.get(k) or "") for k in (*TEXT_FIELDS, "access_mode", "server_side_encryption")}
    base = str(config.get("prefix") or "")
    for c in PREFIX_FIELDS:
        value = str((config.get("prefixes") or {}).get(c) or "")
        form[f"prefix_{c}"] = "" if value == base else value
    return form


def _policy(body: StorageConfigIn, external_id: str, principal: str | None) -> PolicyAnswer:
    return minimum_policy(body.policy_request(), external_id=external_id, principal_arn=principal)


async def _page(
    request: Request,
    user: ConsoleUser,
    *,
    form: dict[str, str] | None = None,
    checks: list[dict[str, Any]] | None = None,
    message: str | None = None,
    error: MeetstoreError | None = None,
    status: int = 200,
) -> Response:
    container = container_of(request)
    view = await run_in_threadpool(container.storage.get, user.account_id)
    current = None if view is None else present.config(view).model_dump(mode="json", exclude_none=True)
    external_id = await run_in_threadpool(container.storage.external_id, user.account_id)
    shown = form if form is not None else _form_from_config(current)
    try:
        answer = _policy(parsed(shown), external_id, container.settings.role_principal_arn) if shown.get("bucket_name") else None
    except InvalidRequest:
        answer = None
    context = {
        "current": current,
        "form": {k: v for k, v in shown.items() if k not in ("access_key_id", "secret_key")},
        "external_id": external_id,
        "checks": checks,
        "message": message,
        "error": None if error is None else {"message": error.message, **error.details},
        "policy": None if answer is None else json.dumps(answer.policy, indent=2),
        "notes": () if answer is None else answer.notes,
        "trust": None if answer is None or answer.trust_policy is None else json.dumps(answer.trust_policy, indent=2),
    }
    return render(request, Page("storage.html", context, status), user)


@router.get("/storage")
async def storage_page(request: Request) -> Response:
    return await _page(request, await user_of(request))


@router.post("/storage")
async def storage_action(request: Request) -> Response:
    """One form, three buttons: Validate (the deep diagnosis), Save (PUT), IAM policy."""
    user, form = await posted(request)
    container = container_of(request)
    action = form.get("action", "validate")
    try:
        body = parsed(form)
        if action == "policy":
            return await _page(request, user, form=form)
        data = body.to_input()
        if action == "save":
            await run_in_threadpool(container.storage.put, user.account_id, data)
            saved = (
                "Saved. New bots write to this bucket. Existing bots are not affected: each bot's media "
                "stays in the bucket that was in force when it left its meeting."
            )
            return await _page(request, user, message=saved)
        report = await run_in_threadpool(container.storage.diagnose, user.account_id, data)
        checks = [dict(c) for c in report.checks]
        note = "Every check passed." if report.valid else "Some checks failed: see what to fix below."
        return await _page(request, user, form=form, checks=checks, message=note)
    except MeetstoreError as exc:
        return await _page(request, user, form=form, error=exc, status=status_for(exc))


@router.post("/storage/delete")
async def delete_storage(request: Request) -> Response:
    user, form = await posted(request)
    if form.get("confirm") != "yes":
        return render(request, Page("confirm_delete_storage.html", {}), user)
    try:
        await run_in_threadpool(container_of(request).storage.delete, user.account_id)
    except MeetstoreError as exc:
        return error_page(request, exc, user)
    return redirect("/console/storage")
