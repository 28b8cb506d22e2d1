"""Console: sign in and out, and the account's API key (revoke, rotate)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from meetstore.api.client_address import client_address
from meetstore.api.console.session import (
    Page,
    SignInNeeded,
    clear_session_cookie,
    container_of,
    error_page,
    form_of,
    posted,
    redirect,
    render,
    sessions_of,
    set_session_cookie,
    user_of,
)
from meetstore.api.limits import RequestLimits
from meetstore.domain.audit import Actor
from meetstore.errors import InvalidApiKey, MeetstoreError
from meetstore.services.accounts import api_key_id, hash_api_key
from meetstore.services.audit import ACTOR

router = APIRouter(prefix="/console", include_in_schema=False)


@router.get("")
async def sign_in_page(request: Request) -> Response:
    try:
        await user_of(request)
        return redirect("/console/bots")
    except SignInNeeded:
        return render(request, Page("sign_in.html", {}))


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    container = container_of(request)
    limits: RequestLimits = request.app.state.limits
    address = request.client.host if request.client is not None else ""
    api_key = (await form_of(request)).get("api_key", "").strip()
    try:
        limits.check_address(address)
        if not api_key:
            raise InvalidApiKey("Enter your API key.")
        ACTOR.set(Actor(api_key_id(hash_api_key(api_key)), client_address(request, container.settings.trusted_proxy_networks)))
        signed = await run_in_threadpool(sessions_of(request).sign_in, api_key)
    except InvalidApiKey as exc:
        limits.failed(address)
        return render(request, Page("sign_in.html", {"error": exc.message}, 403))
    except MeetstoreError as exc:
        return error_page(request, exc, None)
    response = redirect("/console/storage")
    set_session_cookie(response, request, signed.token, int(container.settings.console_idle_s))
    return response


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    await posted(request)
    await run_in_threadpool(sessions_of(request).sign_out, request.cookies.get("meetstore_console"))
    response = redirect("/console")
    clear_session_cookie(response)
    return response


@router.get("/keys")
async def keys_page(request: Request) -> Response:
    user = await user_of(request)
    key = await run_in_threadpool(container_of(request).accounts.key_of, user.account_id)
    return render(request, Page("keys.html", {"key": key}), user)


@router.post("/keys/rotate")
async def rotate_key(request: Request) -> Response:
    user, _form = await posted(request)
    new_key = await run_in_threadpool(container_of(request).accounts.rotate_key, user.account_id)
    # This session was opened with the old key, so it ends: the new key is shown once, here.
    response = render(request, Page("rotated.html", {"api_key": new_key}), None)
    clear_session_cookie(response)
    return response


@router.post("/keys/revoke")
async def revoke_key(request: Request) -> Response:
    user, form = await posted(request)
    if form.get("confirm") != "yes":
        return render(request, Page("confirm_revoke.html", {}), user)
    await run_in_threadpool(container_of(request).accounts.revoke, user.account_id)
    response = redirect("/console")
    clear_session_cookie(response)
    return response
