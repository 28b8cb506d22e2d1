"""Local platform store downloads: `GET|HEAD /files/<signed token>`, with single-range support.

No API key here: the HMAC-signed, expiring token is the credential. A tampered or expired token is
403 `invalid_token`. Files are streamed in chunks, never read whole into memory; `Range: bytes=a-b`,
`a-` and `-n` answer 206 with `Content-Range`, an unsatisfiable range 416, so browsers can seek.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from meetstore.adapters.platform_store.local import LocalPlatformStore, TokenError
from meetstore.api.deps import ContainerDep
from meetstore.api.errors import envelope
from meetstore.api.openapi import Responses, errors
from meetstore.errors import AccessRefused, ArtifactNotFound, NotFound

router = APIRouter(tags=["files"])

CHUNK_BYTES = 256 * 1024

CONTENT_TYPES = {
    ".mp3": "audio/mpeg",
    ".mp4": "video/mp4",
    ".webm": "audio/webm",
    ".png": "image/png",
    ".json": "application/json",
}

_RANGE_RE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)


def content_type_for(key: str) -> str:
    name = key.rsplit("/", 1)[-1].lower()
    dot = name.rfind(".")
    return (
        CONTENT_TYPES.get(name[dot:], "application/octet-stream") if dot >= 0 else "application/octet-stream"
    )


class RangeNotSatisfiable(Exception):
    pass


_HUGE = 10**18
"""Any position past this is past the end of every file. A position is a run of digits of any
length, and `int()` refuses more than 4,300 of them; positions are compared as strings instead."""


def _digits(raw: str) -> str:
    return raw.lstrip("0") or "0"


def _position(raw: str) -> int:
    d = _digits(raw)
    return int(d) if len(d) <= 18 else _HUGE


def _before(a: str, b: str) -> bool:
    """a < b for two runs of digits of any length."""
    da, db = _digits(a), _digits(b)
    return (len(da), da) < (len(db), db)


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The one byte range a `Range` header asks for; None: serve the whole file.

    A header that is not a single `bytes=` range (another unit, several ranges, malformed) is
    ignored, as RFC 9110 allows. A well-formed range that selects nothing raises RangeNotSatisfiable.
    """
    if not header:
        return None
    m = _RANGE_RE.match(header)
    if m is None:
        return None
    first, last = m.group(1), m.group(2)
    if first == "" and last == "":
        return None
    if first == "":  # suffix range: the last n bytes
        n = _position(last)
        if n == 0 or size == 0:
            raise RangeNotSatisfiable
        return ByteRange(max(0, size - n), size - 1)
    if last != "" and _before(last, first):
        return None  # invalid range-spec: ignore the header
    start = _position(first)
    if start >= size:
        raise RangeNotSatisfiable
    end = size - 1 if last == "" else min(_position(last), size - 1)
    return ByteRange(start, end)


def _stream(fh: BinaryIO, start: int, length: int) -> Iterator[bytes]:
    try:
        fh.seek(start)
        remaining = length
        while remaining > 0:
            chunk = fh.read(min(CHUNK_BYTES, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
    finally:
        fh.close()


_FILE_CONTENT: dict[str, Any] = {
    ct: {"schema": {"type": "string", "format": "binary"}}
    for ct in [*CONTENT_TYPES.values(), "application/octet-stream"]
}
_FILE_CONTENT["application/json"] = {"schema": {}}  # a JSON file (chat, transcript, manifest) as stored
_RANGE = {"Content-Range": {"required": True, "schema": {"type": "string"}}}
DOWNLOAD: Responses = {
    200: {"description": "The whole file.", "content": _FILE_CONTENT},
    206: {
        "description": "The byte range asked for with `Range` (a JSON file's range is not JSON).",
        "content": {**_FILE_CONTENT, "application/json": {"schema": {"type": "string", "format": "binary"}}},
        "headers": _RANGE,
    },
    **errors(
        {
            403: "The link is tampered with or expired: `invalid_token`.",
            404: "The file is no longer in the platform store (`artifact_not_found`), or the platform "
            "store is not local (`not_found`).",
        }
    ),
}
DOWNLOAD[416] = {**errors({416: "`range_not_satisfiable`."})[416], "headers": _RANGE}


@router.get("/files/{token}", response_model=None, operation_id="download_file", responses=DOWNLOAD)
@router.head("/files/{token}", response_model=None, operation_id="head_file", responses=DOWNLOAD)
def download(token: str, request: Request, container: ContainerDep) -> Response:
    store = container.platform.store
    if not isinstance(store, LocalPlatformStore):
        raise NotFound("No such endpoint.")
    try:
        signed = store.verify(token)
    except TokenError as exc:
        reason = "has expired" if str(exc) == "expired" else "is not valid"
        raise AccessRefused(
            f"This download link {reason}; call the fetch endpoint again for a fresh URL.",
            code="invalid_token",
        ) from None
    try:
        path = store.path_of(signed.key)
        fh: BinaryIO = path.open("rb")
    except (ValueError, OSError):
        raise ArtifactNotFound("The file is no longer in the platform store.") from None
    try:
        size = os.fstat(fh.fileno()).st_size
        headers = {
            "Accept-Ranges": "bytes",
            "Cache-Control": "private, max-age=0",
            "Content-Disposition": f'inline; filename="{signed.key.rsplit("/", 1)[-1]}"',
            # The content type is ours, from the key's extension: a browser must not guess another.
            "X-Content-Type-Options": "nosniff",
        }
        media_type = content_type_for(signed.key)
        try:
            wanted = parse_range(request.headers.get("range"), size)
        except RangeNotSatisfiable:
            fh.close()
            return JSONResponse(
                envelope(
                    f"The requested range is outside the file (size {size} bytes).",
                    "range_not_satisfiable",
                ),
                status_code=416,
                headers={
                    "Content-Range": f"bytes */{size}",
                    "Accept-Ranges": "bytes",
                    "X-Content-Type-Options": "nosniff",
                },
            )
        if wanted is None:
            status, start, length = 200, 0, size
        else:
            status, start, length = 206, wanted.start, wanted.length
            headers["Content-Range"] = f"bytes {wanted.start}-{wanted.end}/{size}"
        headers["Content-Length"] = str(length)
        if request.method == "HEAD":
            fh.close()
            return Response(status_code=status, headers=headers, media_type=media_type)
        return StreamingResponse(
            _stream(fh, start, length), status_code=status, headers=headers, media_type=media_type
        )
    except BaseException:
        if not fh.closed:
            fh.close()
        raise
