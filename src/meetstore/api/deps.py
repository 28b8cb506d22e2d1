"""FastAPI dependencies: the container and the authenticated account."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from meetstore.container import Container
from meetstore.errors import NotAuthenticated


def get_container(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


def current_account(request: Request, container: Annotated[Container, Depends(get_container)]) -> str:
    """The account of `Authorization: Token <api_key>`: 401 without a key, 403 for a bad one."""
    header = request.headers.get("authorization")
    if not header or not header.strip():
        raise NotAuthenticated("Authentication required: send 'Authorization: Token <api_key>'.")
    scheme, _, key = header.strip().partition(" ")
    if scheme.lower() != "token" or not key.strip():
        raise NotAuthenticated(
            "Use the header 'Authorization: Token <api_key>' (the word Token, not Bearer)."
        )
    account_id = container.accounts.authenticate(key.strip())
    request.state.account_id = account_id
    return account_id


ContainerDep = Annotated[Container, Depends(get_container)]
AccountDep = Annotated[str, Depends(current_account)]
