"""A deliberately slow S3 stand-in for the workers benchmark: it answers every PutObject after
`delay_ms` and counts how many times each key was written; and it keeps what is written to the
`staging` bucket, for a staging spool. Nothing else of S3.

    python -m bench.slow_s3 PORT DELAY_MS

- `PUT /{bucket}/{key}` (path-style): reads the body (answering `Expect: 100-continue`), waits
  `delay_ms` without using CPU (asyncio), then 200 with an ETag. The wait stands in for the
  network and the storage service: with it, the benchmark measures how well workers coordinate
  through the outbox, not how fast one machine copies bytes.
- The `staging` bucket: PUT keeps the body in memory (no wait: staging is written
  before the clock runs), GET answers it (with `Range: bytes=a-b`, what a staged upload reads),
  404 `NoSuchKey` when absent; `GET /{bucket}?list-type=2&prefix=` lists (one page), and
  `POST /{bucket}?delete` / `DELETE` remove. Just what `adapters/spool/s3.py` calls, for files
  below the multipart threshold.
- `GET /_counts`: `{"/bucket/key": times written}` as JSON; `POST /_reset` forgets them.

It is a separate process and no part of meetstore: meetstore talks to it as to any S3 endpoint
(`MEETSTORE_PLATFORM_STORE=s3://bucket/prefix`, `MEETSTORE_PLATFORM_S3_ENDPOINT_URL`).
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import json
import re
import sys
from collections import Counter
from urllib.parse import parse_qsl, unquote, urlsplit

COUNTS: Counter[str] = Counter()
STAGED: dict[str, bytes] = {}
STAGING_BUCKET = "staging"


def response(status: str, body: bytes = b"", headers: dict[str, str] | None = None) -> bytes:
    head = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}"]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    try:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            lines = head.decode("latin-1").split("\r\n")
            method, target, _version = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0") or 0)
            if headers.get("expect", "").lower() == "100-continue":
                writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                await writer.drain()
            body = await reader.readexactly(length) if length else b""
            parts = urlsplit(target)
            path = unquote(parts.path)
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
            staging = path == f"/{STAGING_BUCKET}" or path.startswith(f"/{STAGING_BUCKET}/")
            if method == "PUT" and staging:
                STAGED[path] = body
                etag = '"' + hashlib.md5(body, usedforsecurity=False).hexdigest() + '"'
                writer.write(response("200 OK", headers={"ETag": etag}))
            elif method == "PUT":
                await asyncio.sleep(delay)
                COUNTS[path] += 1
                etag = '"' + hashlib.md5(body, usedforsecurity=False).hexdigest() + '"'
                writer.write(response("200 OK", headers={"ETag": etag}))
            elif method == "GET" and path == "/_counts":
                writer.write(
                    response("200 OK", json.dumps(COUNTS).encode(), {"Content-Type": "application/json"})
                )
            elif method == "POST" and path == "/_reset":
                COUNTS.clear()
                STAGED.clear()
                writer.write(response("200 OK"))
            elif method == "GET" and staging and "list-type" in query:
                writer.write(response("200 OK", _listing(path.strip("/"), query.get("prefix", "")), XML))
            elif method == "GET" and staging:
                writer.write(_object(path, headers.get("range")))
            elif method == "POST" and staging and "delete" in query:
                bucket = path.strip("/")
                for key in re.findall(r"<Key>(.*?)</Key>", body.decode()):
                    STAGED.pop(f"/{bucket}/{html.unescape(key)}", None)
                writer.write(response("200 OK", b'<?xml version="1.0"?><DeleteResult></DeleteResult>', XML))
            elif method == "DELETE" and staging:
                STAGED.pop(path, None)
                writer.write(response("204 No Content"))
            else:
                writer.write(response("200 OK"))
            await writer.drain()
    finally:
        writer.close()


XML = {"Content-Type": "application/xml"}


def _object(path: str, ranged: str | None) -> bytes:
    data = STAGED.get(path)
    if data is None:
        return response("404 Not Found", b"<Error><Code>NoSuchKey</Code></Error>", XML)
    if ranged and ranged.startswith("bytes="):
        first, _, last = ranged[len("bytes=") :].partition("-")
        start, end = int(first), min(len(data) - 1, int(last or len(data) - 1))
        return response("206 Partial Content", data[start : end + 1], {"Content-Range": f"bytes {start}-{end}/{len(data)}"})
    return response("200 OK", data)


def _listing(bucket: str, prefix: str) -> bytes:
    keys = sorted(p[len(f"/{bucket}/") :] for p in STAGED if p.startswith(f"/{bucket}/{prefix}"))
    items = "".join(f"<Contents><Key>{html.escape(k)}</Key><Size>{len(STAGED[f'/{bucket}/{k}'])}</Size></Contents>" for k in keys)
    return (
        f'<?xml version="1.0"?><ListBucketResult><Name>{bucket}</Name><Prefix>{html.escape(prefix)}</Prefix>'
        f"<KeyCount>{len(keys)}</KeyCount><IsTruncated>false</IsTruncated>{items}</ListBucketResult>"
    ).encode()


async def serve(port: int, delay: float) -> None:
    server = await asyncio.start_server(lambda r, w: handle(r, w, delay), "127.0.0.1", port)
    async with server:
        await server.serve_forever()


def main() -> None:
    port, delay_ms = int(sys.argv[1]), float(sys.argv[2])
    asyncio.run(serve(port, delay_ms / 1000.0))


if __name__ == "__main__":
    main()
