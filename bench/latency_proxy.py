"""A TCP proxy that adds network latency: every chunk of bytes is held `delay_ms` before it is
passed on, in both directions (a request/response round trip gains 2 x delay_ms).

    python -m bench.latency_proxy LISTEN_PORT TARGET_PORT DELAY_MS

moto on loopback answers a PutObject in a few milliseconds of pure CPU, one request at a time (one
Python process); S3 over a network answers in tens of milliseconds, mostly waiting. The validate
benchmark runs through this proxy to measure what concurrent probes buy where latency dominates.
Runs as its own process, so its work does not share the measured process's interpreter.
"""

from __future__ import annotations

import asyncio
import sys


async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    loop = asyncio.get_running_loop()
    try:
        while data := await reader.read(65536):
            due = loop.time() + delay
            await asyncio.sleep(max(0.0, due - loop.time()))
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def serve(listen: int, target: int, delay: float) -> None:
    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection("127.0.0.1", target)
        except OSError:
            client_w.close()
            return
        await asyncio.gather(pump(client_r, server_w, delay), pump(server_r, client_w, delay))

    server = await asyncio.start_server(handle, "127.0.0.1", listen)
    async with server:
        await server.serve_forever()


def main() -> None:
    listen, target, delay_ms = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    asyncio.run(serve(listen, target, delay_ms / 1000.0))


if __name__ == "__main__":
    main()
