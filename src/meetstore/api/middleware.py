"""ASGI middleware: body limits and JSON sanity before FastAPI parses.

- A JSON body over `max_body_bytes` is 413; deeper than 64 levels, or not UTF-8, is 400 — answered
  fast, before any parser recurses. The ingest file upload path streams and is exempt.
- Request headers over 32 KiB in all are 431.

The rate limits need the authenticated account, so they live with authentication (api/limits.py).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_JSON_DEPTH = 64
MAX_HEADER_BYTES = 32 * 1024
STREAMING_PREFIXES = ("/internal/v1/bots/",)


async def _send_json(
    send: Send, status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    raw = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(raw)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": raw})


def json_depth(raw: bytes) -> int:
    """The deepest nesting of arrays/objects, ignoring brackets inside strings."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
            continue
        if byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_JSON_DEPTH:
                return deepest
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header_bytes = sum(len(k) + len(v) for k, v in scope.get("headers") or [])
        if header_bytes > MAX_HEADER_BYTES:
            await _send_json(
                send,
                431,
                {
                    "message": f"Request headers are larger than {MAX_HEADER_BYTES} bytes.",
                    "code": "headers_too_large",
                },
            )
            return
        if scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        if "/files/" in path and path.startswith(STREAMING_PREFIXES):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max:
            await _send_json(send, 413, _too_large(self.max))
            return
        chunks: list[bytes] = []
        total = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            total += len(chunk)
            if total > self.max:
                await _send_json(send, 413, _too_large(self.max))
                return
            chunks.append(chunk)
            more = bool(message.get("more_body"))
        raw = b"".join(chunks)
        if raw:
            problem = None
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError:
                problem = "the body is not valid UTF-8"
            if problem is None and json_depth(raw) > MAX_JSON_DEPTH:
                problem = f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels"
            if problem is not None:
                await _send_json(
                    send,
                    400,
                    {
                        "message": f"Invalid request: {problem}.",
                        "code": "invalid_request",
                        "errors": [{"field": "body", "message": problem}],
                    },
                )
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": raw, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _too_large(limit: int) -> dict[str, Any]:
    return {"message": f"The request body is larger than {limit} bytes.", "code": "payload_too_large"}
