"""The fetch fast path: get_audio, get_chats and get_manifest of a file whose answer is known.

Clients poll these endpoints, and most answers are for a finished file on the platform store
whose location `FetchService.cached` already holds: a URL signed with an HMAC, no database, no
network. Going through FastAPI for such an answer (routing, dependency resolution, path
validation) cost more than the answer itself (bench/fetch, py-spy: ~60% of a request's CPU), and
at 64 connections on one event loop every microsecond per request shows in the p99.

This ASGI middleware answers those requests before the framework sees them, and only when the
answer is certain: a GET of exactly one of those paths, a well-formed `Authorization: Token`
header whose key is in the key cache, and a location `FetchService.cached` knows for that
account and bot. The body is the very dict the FastAPI route would return, rendered by the same
`JSONResponse`. Everything else (no or bad key, unknown bot, a custom bucket, a file not yet
final, any error) goes on to FastAPI unchanged, so every status code and error body stays the
route's. It sits inside the rate limit and the body/header limits (`create_app`).
"""

from __future__ import annotations

import re
from typing import Any

from fastapi.responses import JSONResponse
from starlette.datastructures import Headers

from meetstore.api.deps import api_key_of, cached_account
from meetstore.api.middleware import ASGIApp, Receive, Scope, Send
from meetstore.container import Container
from meetstore.domain.artifacts import ArtifactKind
from meetstore.errors import NotAuthenticated

KNOWN_FILE_PATH = re.compile(r"/api/v1/bots/([^/]+)/(get_audio|get_chats|get_manifest)")
_KIND = {
    "get_audio": ArtifactKind.AUDIO,
    "get_chats": ArtifactKind.CHAT,
    "get_manifest": ArtifactKind.MANIFEST,
}


class KnownFileFastPath:
    def __init__(self, app: ASGIApp, container: Container) -> None:
        self.app = app
        self.container = container

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and not scope.get("root_path"):
            answer = self._answer(scope)
            if answer is not None:
                await JSONResponse(answer)(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _answer(self, scope: Scope) -> dict[str, Any] | None:
        match = KNOWN_FILE_PATH.fullmatch(scope["path"])
        if match is None or not self.container.fetch.signs_without_io:
            return None
        try:
            api_key = api_key_of(Headers(scope=scope).get("authorization"))
        except NotAuthenticated:
            return None  # FastAPI answers 401 with its message
        account_id = cached_account(scope["app"], api_key)
        if account_id is None:
            return None  # not cached (or not valid): FastAPI authenticates it on the thread pool
        bot_id, endpoint = match.groups()
        return self.container.fetch.cached(account_id, bot_id, _KIND[endpoint])
