"""FastAPI dependencies: the container and the authenticated account.

Both are `async`: FastAPI runs a plain `def` dependency on the thread pool, a hop that costs more
than the work here. The account comes from the key cache without I/O when it can
(`AccountService.cached_account`); only a lookup in the database goes to the thread pool.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from meetstore.container import Container
from meetstore.errors import NotAuthenticated


async def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


async def current_account(request: Request, container: Annotated[Container, Depends(get_container)]) -> str:
    """The account of `Authorization: Token <api_key>`: 401 without a key, 403 for a bad one."""
    header = request.headers.get("authorization")
    if not header or not header.strip():
        raise NotAuthenticated("Authentication required: send 'Authorization: Token <api_key>'.")
    scheme, _, key = header.strip().partition(" ")
    if scheme.lower() != "token" or not key.strip():
        raise NotAuthenticated(
            "Use the header 'Authorization: Token <api_key>' (the word Token, not Bearer)."
        )
    api_key = key.strip()
    account_id = container.accounts.cached_account(api_key)
    if account_id is None:
        account_id = await run_in_threadpool(container.accounts.authenticate, api_key)
    request.state.account_id = account_id
    return account_id


ContainerDep = Annotated[Container, Depends(get_container)]
AccountDep = Annotated[str, Depends(current_account)]
