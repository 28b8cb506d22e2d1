"""A deliberately slow S3 stand-in for the workers benchmark: it answers every PutObject after
`delay_ms` and counts how many times each key was written. Nothing else of S3.

    python -m bench.slow_s3 PORT DELAY_MS

- `PUT /{bucket}/{key}` (path-style): reads the body (answering `Expect: 100-continue`), waits
  `delay_ms` without using CPU (asyncio), then 200 with an ETag. The wait stands in for the
  network and the storage service: with it, the benchmark measures how well workers coordinate
  through the outbox, not how fast one machine copies bytes.
- `GET /_counts`: `{"/bucket/key": times written}` as JSON; `POST /_reset` forgets them.

It is a separate process and no part of meetstore: meetstore talks to it as to any S3 endpoint
(`MEETSTORE_PLATFORM_STORE=s3://bucket/prefix`, `MEETSTORE_PLATFORM_S3_ENDPOINT_URL`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
from collections import Counter
from urllib.parse import unquote, urlsplit

COUNTS: Counter[str] = Counter()


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
            path = unquote(urlsplit(target).path)
            if method == "PUT":
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
                writer.write(response("200 OK"))
            else:
                writer.write(response("200 OK"))
            await writer.drain()
    finally:
        writer.close()


async def serve(port: int, delay: float) -> None:
    server = await asyncio.start_server(lambda r, w: handle(r, w, delay), "127.0.0.1", port)
    async with server:
        await server.serve_forever()


def main() -> None:
    port, delay_ms = int(sys.argv[1]), float(sys.argv[2])
    asyncio.run(serve(port, delay_ms / 1000.0))


if __name__ == "__main__":
    main()
