"""MeetStream calls outside a media-storage backend: answered 501 `not_supported`, naming the
capability, after authentication (API.md "MeetStream parity"). A 404 would say the endpoint does
not exist; these exist on MeetStream, and the SDK has them, so the honest answer is "not here"."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable

from fastapi import APIRouter, Path

from meetstore.api.deps import AccountDep
from meetstore.api.openapi import errors
from meetstore.errors import NotSupported

router = APIRouter(prefix="/api/v1", tags=["not supported"])

CALENDAR = "Calendar integration (scheduling bots from Google or Outlook calendars)"
MIA = "MIA, MeetStream's in-meeting agent"
GOOGLE_LOGINS = "Signed-in Google bots (Google login domains and logins)"
ZOOM = "Zoom OAuth connections"
SUMMARY = "Meeting summaries"
TRANSCRIBE = "Transcribing a recording after the meeting"

UNSUPPORTED: tuple[tuple[str, str, str], ...] = (
    ("GET", "/calendar", CALENDAR),
    ("POST", "/calendar/create_calendar", CALENDAR),
    ("POST", "/calendar/create_outlook_calendar", CALENDAR),
    ("POST", "/calendar/disconnect", CALENDAR),
    ("GET", "/calendar/events", CALENDAR),
    ("POST", "/calendar/schedule/{event_id}", CALENDAR),
    ("DELETE", "/calendar/schedule/{event_id}", CALENDAR),
    ("GET", "/calendar/scheduled_bots", CALENDAR),
    ("PATCH", "/calendar/scheduled_bots/{bot_id}", CALENDAR),
    ("DELETE", "/calendar/scheduled_bots/{bot_id}", CALENDAR),
    ("POST", "/calendar/auto-schedule/enable", CALENDAR),
    ("POST", "/calendar/auto-schedule/disable", CALENDAR),
    ("GET", "/calendar/auto-schedule/settings", CALENDAR),
    ("POST", "/calendar/toggle-recurrence", CALENDAR),
    ("GET", "/mia", MIA),
    ("POST", "/mia", MIA),
    ("PUT", "/mia", MIA),
    ("DELETE", "/mia", MIA),
    ("GET", "/google-login-domains", GOOGLE_LOGINS),
    ("POST", "/google-login-domains", GOOGLE_LOGINS),
    ("GET", "/google-login-domains/{domain}", GOOGLE_LOGINS),
    ("PATCH", "/google-login-domains/{domain}", GOOGLE_LOGINS),
    ("DELETE", "/google-login-domains/{domain}", GOOGLE_LOGINS),
    ("GET", "/google-logins", GOOGLE_LOGINS),
    ("POST", "/google-logins", GOOGLE_LOGINS),
    ("PATCH", "/google-logins/{login_id}", GOOGLE_LOGINS),
    ("DELETE", "/google-logins/{login_id}", GOOGLE_LOGINS),
    ("GET", "/zoom/oauth/authorize-url", ZOOM),
    ("GET", "/zoom/oauth/connections", ZOOM),
    ("POST", "/zoom/oauth/connections", ZOOM),
    ("GET", "/zoom/oauth/connections/{zoom_user_id}", ZOOM),
    ("DELETE", "/zoom/oauth/connections/{zoom_user_id}", ZOOM),
    ("GET", "/bots/{bot_id}/summary", SUMMARY),
    ("POST", "/bots/{bot_id}/transcribe", TRANSCRIBE),
)
NOT_SUPPORTED = errors({501: "A MeetStream capability meetstore does not offer: `not_supported`."})


def _refusal(path: str, capability: str) -> Callable[..., None]:
    def refuse(account_id: AccountDep, **_path_params: str) -> None:
        raise NotSupported(
            f"{capability} is not part of meetstore: it stores, serves and erases meeting media "
            "(see the SDK table in README.md for what it answers)."
        )

    # The path's parameters, declared so that the OpenAPI document describes the route fully.
    names = re.findall(r"{(\w+)}", path)
    params = [inspect.Parameter("account_id", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=AccountDep)]
    params += [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, annotation=str, default=Path()) for n in names]
    refuse.__signature__ = inspect.Signature(params, return_annotation=None)  # type: ignore[attr-defined]
    return refuse


for _method, _path, _capability in UNSUPPORTED:
    router.add_api_route(
        _path,
        _refusal(_path, _capability),
        methods=[_method],
        summary=f"Not supported: {_capability}",
        response_model=None,
        status_code=501,
        responses=NOT_SUPPORTED,
        operation_id=f"not_supported_{_method.lower()}_{_path.strip('/').replace('/', '_').replace('{', '').replace('}', '').replace('-', '_')}",
    )
