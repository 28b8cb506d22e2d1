"""The console's plumbing: its session cookie, CSRF check, security headers and page rendering.

Pages are rendered on the server (Jinja2, autoescaped) from the same services the API uses. The
cookie is HttpOnly and SameSite=Strict, scoped to /console; every POST carries the session's CSRF
token and must come from this origin. Every page sends a Content-Security-Policy with no inline
script and `frame-ancestors 'none'`; a page that embeds media adds exactly the origins of its URLs.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

from meetstore.api.errors import status_for
from meetstore.container import Container
from meetstore.errors import MeetstoreError, NotAuthenticated
from meetstore.services.console_sessions import ConsoleSessions, ConsoleUser

COOKIE = "meetstore_console"
PATH = "/console"
MAX_FORM_BYTES = 64 * 1024

_templates = Environment(
    loader=PackageLoader("meetstore.api.console", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


class SignInNeeded(Exception):
    """No valid session: the page answers with a redirect to the sign-in page."""


class CsrfRefused(Exception):
    """A POST without this session's CSRF token, or from another origin."""


def container_of(request: Request) -> Container:
    container: Container = request.app.state.container
    return container


def sessions_of(request: Request) -> ConsoleSessions:
    return container_of(request).console_sessions


async def user_of(request: Request) -> ConsoleUser:
    try:
        return await run_in_threadpool(sessions_of(request).user_of, request.cookies.get(COOKIE))
    except NotAuthenticated:
        raise SignInNeeded from None


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        referer = request.headers.get("referer")
        if referer is None:
            return origin is None  # a browser sends Origin on a POST; a script may send neither
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(referer))
    return origin == f"{request.url.scheme}://{request.url.netloc}"


async def form_of(request: Request) -> dict[str, str]:
    """An application/x-www-form-urlencoded body (the only kind the console's forms send)."""
    raw = await request.body()
    if len(raw) > MAX_FORM_BYTES:
        raise CsrfRefused
    parsed = parse_qs(raw.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {k: v[-1] for k, v in parsed.items()}


async def posted(request: Request) -> tuple[ConsoleUser, dict[str, str]]:
    """The user and form of a state-changing request, CSRF-checked."""
    user = await user_of(request)
    form = await form_of(request)
    if not _same_origin(request) or not ConsoleSessions.csrf_ok(user, form.get("csrf")):
        raise CsrfRefused
    return user, form


def origins(urls: Iterable[str | None]) -> list[str]:
    out: list[str] = []
    for url in urls:
        if not url:
            continue
        parts = urlsplit(url)
        if parts.scheme in ("http", "https") and parts.netloc:
            origin = f"{parts.scheme}://{parts.netloc}"
            if origin not in out:
                out.append(origin)
    return out


def csp(media_origins: Iterable[str] = ()) -> str:
    extra = " ".join(media_origins)
    media = f"'self' {extra}".strip()
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        f"img-src {media}; media-src {media}; connect-src 'self'; "
        "form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'"
    )


def secure(response: Response, media_origins: Iterable[str] = ()) -> Response:
    response.headers["Content-Security-Policy"] = csp(media_origins)
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    # same-origin, not no-referrer: with no-referrer a browser sends `Origin: null` on its own forms.
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Cache-Control"] = "no-store"
    return response


@dataclass(frozen=True)
class Page:
    template: str
    context: dict[str, Any]
    status: int = 200
    media_origins: tuple[str, ...] = ()


def render(request: Request, page: Page, user: ConsoleUser | None = None) -> Response:
    html = _templates.get_template(page.template).render(
        request_path=request.url.path, user=user, csrf=user.csrf if user else "", **page.context
    )
    return secure(HTMLResponse(html, status_code=page.status), page.media_origins)


def redirect(to: str) -> Response:
    return secure(RedirectResponse(to, status_code=303))


def error_page(request: Request, exc: MeetstoreError, user: ConsoleUser | None) -> Response:
    """A domain error, on a page: the API's status and message (no second mapping)."""
    return render(request, Page("error.html", {"message": exc.message, "code": exc.code}, status_for(exc)), user)


def set_session_cookie(response: Response, request: Request, token: str, max_age_s: int) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=max_age_s,
        path=PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path=PATH, httponly=True, samesite="strict")
