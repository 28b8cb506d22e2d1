"""FastAPI dependencies: the container and the authenticated account.

Both are `async`: FastAPI runs a plain `def` dependency on the thread pool, a hop that costs more
than the work here. The account comes from the key cache without I/O when it can
(`AccountService.cached_account`); only a lookup in the database goes to the thread pool.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from meetstore.api.client_address import client_address
from meetstore.api.limits import RequestLimits
from meetstore.container import Container
from meetstore.domain.audit import Actor
from meetstore.errors import InvalidApiKey, InvalidRequest, NotAuthenticated
from meetstore.services.accounts import AccountService, api_key_id, hash_api_key
from meetstore.services.audit import ACTOR

log = logging.getLogger("meetstore.api.auth")


async def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


def api_key_of(header: str | None) -> str:
    """The key of an `Authorization: Token <api_key>` header; NotAuthenticated (401) otherwise."""
    if not header or not header.strip():
        raise NotAuthenticated("Authentication required: send 'Authorization: Token <api_key>'.")
    scheme, _, key = header.strip().partition(" ")
    if scheme.lower() != "token" or not key.strip():
        raise NotAuthenticated(
            "Use the header 'Authorization: Token <api_key>' (the word Token, not Bearer)."
        )
    return key.strip()


def cached_account(app: Any, api_key: str) -> str | None:
    """The key's account from the app's key cache, without I/O (None: not cached, ask the
    database). A key in use is re-validated in the background once past half its TTL; nobody
    waits for it."""
    accounts: AccountService = app.state.container.accounts
    account_id = accounts.cached_account(api_key)
    if account_id is not None and accounts.needs_revalidation(api_key):
        _in_background(app, run_in_threadpool(_revalidate, accounts, api_key))
    return account_id


async def current_account(request: Request) -> str:
    """The account of `Authorization: Token <api_key>`: 401 without a key, 403 for a bad one, 400
    for several Authorization headers, 429 over the account's rate or the address's budget of
    failed authentications (api/limits.py).

    It reads the container itself rather than through `Depends(get_container)`: a sub-dependency
    would cost every authenticated request one more dependency resolution."""
    container: Container = request.app.state.container
    limits: RequestLimits = request.app.state.limits
    headers = request.headers.getlist("authorization")
    if len(headers) > 1:
        raise InvalidRequest(
            "Send one Authorization header, not several.",
            [{"field": "Authorization", "message": "sent more than once"}],
        )
    api_key = api_key_of(headers[0] if headers else None)
    # Who is acting, for the audit trail of whatever this request does (services read ACTOR); the
    # same address has the budget of failed authentications.
    address = client_address(request, container.settings.trusted_proxy_networks)
    ACTOR.set(Actor(api_key_id(hash_api_key(api_key)), address))
    account_id = cached_account(request.app, api_key)
    if account_id is None:
        address = address or ""
        limits.check_address(address)
        try:
            account_id = await run_in_threadpool(container.accounts.authenticate, api_key)
        except InvalidApiKey:
            limits.failed(address)
            raise
    limits.take(account_id)
    return account_id


async def caller(request: Request) -> tuple[Container, str]:
    """The container and the account of the request, for a handler that authenticates itself (the
    fetch endpoints, which clients poll: no dependency resolution per request); the same checks and
    answers as `current_account`."""
    container: Container = request.app.state.container
    return container, await current_account(request)


def _revalidate(accounts: AccountService, api_key: str) -> None:
    try:
        accounts.revalidate(api_key)
    except Exception as exc:  # the entry runs out as usual; the next request looks it up
        log.warning("re-validating a cached API key failed: %s", type(exc).__name__)


def _in_background(app: Any, job: Coroutine[Any, Any, None]) -> None:
    """Run `job` without making the request wait; the app keeps a reference until it ends."""
    tasks: set[asyncio.Task[None]] = app.state.background_tasks
    task = asyncio.get_running_loop().create_task(job)
    tasks.add(task)
    task.add_done_callback(tasks.discard)


ContainerDep = Annotated[Container, Depends(get_container)]
AccountDep = Annotated[str, Depends(current_account)]
