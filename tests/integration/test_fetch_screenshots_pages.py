"""get_screenshots on a bot with 10,000 screenshots: keyset pages and opaque cursors, exact at any depth.

How fast a deep page is belongs to the benchmarks, not here (no timed assertions in tests):
`make bench-scale` prints the page query's plan, an index range scan on (bot, kind, seq).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from conftest import new_account, sdk_for
from support.fetch_rows import media_files, seed_bot
from support.servers import RunningServer

N = 10_000


@pytest.fixture(params=["sqlite", "postgres"])
def server(make_server: Callable[..., RunningServer], request: pytest.FixtureRequest) -> RunningServer:
    return make_server(request.param, workers=False)


def test_ten_thousand_screenshots(server: RunningServer) -> None:
    acct = new_account(server)
    files = media_files(screenshots=0, streams=False)
    files.update({f"screenshots/{n:05d}.png": b"\x89PNG" + n.to_bytes(4, "big") for n in range(1, N + 1)})
    sampled = {1, 100, 101, 5000, 9999, N}
    written: dict[str, bytes] = {}

    def write(key: str, data: bytes, content_type: str) -> None:
        # Every row says uploaded; only a sample of objects is put on disk (the listing reads none).
        if "_screenshots/" not in key or int(key.rsplit("/", 1)[1][:5]) in sampled:
            server.container.platform.store.put_bytes(key, data, content_type=content_type)
            written[key] = data

    seeded = seed_bot(server.container, acct.account_id, pin="platform", files=files, write=write)
    # Another bot's screenshots never show up in this one's pages.
    other = seed_bot(server.container, acct.account_id, pin="platform", files=media_files(screenshots=5))
    client = sdk_for(server, acct.api_key)

    def page(**params: Any) -> dict[str, Any]:
        body: dict[str, Any] = client.bots.screenshots(seeded.bot_id, params=params)
        return body

    first = page()
    assert len(first["screenshots"]) == 100 and first["expires_in"] == 600
    assert [s["key"] for s in first["screenshots"]] == [
        seeded.key(f"screenshots/{n:05d}.png") for n in range(1, 101)
    ]
    assert isinstance(first["next_cursor"], str)
    second = page(cursor=first["next_cursor"])
    assert second["screenshots"][0]["key"] == seeded.key("screenshots/00101.png")

    # Walk all of it, 1000 at a time: every screenshot exactly once, in order, then no cursor.
    keys: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 1000}
        if cursor:
            params["cursor"] = cursor
        body = page(**params)
        pages += 1
        keys += [s["key"] for s in body["screenshots"]]
        for item in body["screenshots"]:
            if item["key"] in written:
                assert httpx.get(item["url"]).content == written[item["key"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages == 10
    assert keys == [seeded.key(f"screenshots/{n:05d}.png") for n in range(1, N + 1)]
    assert not set(keys) & set(other.keys.values())

    # The deepest small page: the last hundred, and no cursor after it.
    deep_cursor = body_cursor_after(client, seeded.bot_id, 9_900)
    deep = page(cursor=deep_cursor)
    assert deep["screenshots"][0]["key"] == seeded.key("screenshots/09901.png")
    assert len(deep["screenshots"]) == 100
    assert deep["next_cursor"] is None


def body_cursor_after(client: Any, bot_id: str, n: int) -> str:
    """The cursor that continues after screenshot `n`, as the API hands it out."""
    body = client.bots.screenshots(bot_id, params={"limit": 1000})
    cursor = body["next_cursor"]
    seen = 1000
    while seen < n:
        step = min(1000, n - seen)
        body = client.bots.screenshots(bot_id, params={"limit": step, "cursor": cursor})
        seen += step
        cursor = body["next_cursor"]
    assert isinstance(cursor, str)
    return cursor
