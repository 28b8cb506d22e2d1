"""The web console at /console: server-rendered pages over the API's services (API.md "Console")."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.types import Scope

from meetstore.api.console import pages_account, pages_bots, pages_storage
from meetstore.api.console.session import CsrfRefused, Page, SignInNeeded, redirect, render, secure


async def _sign_in_needed(_request: Request, _exc: Exception) -> Response:
    return redirect("/console")


async def _csrf_refused(request: Request, _exc: Exception) -> Response:
    message = "This form is out of date or came from another site: reload the page."
    return render(request, Page("error.html", {"message": message, "code": "csrf"}, 403))


class ConsoleStatic(StaticFiles):
    """The console's own style and script, with the console's security headers."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        return secure(await super().get_response(path, scope))


def install(app: FastAPI) -> None:
    app.include_router(pages_account.router)
    app.include_router(pages_storage.router)
    app.include_router(pages_bots.router)
    app.mount("/console/static", ConsoleStatic(packages=[("meetstore.api.console", "static")]), name="console-static")
    app.add_exception_handler(SignInNeeded, _sign_in_needed)
    app.add_exception_handler(CsrfRefused, _csrf_refused)
