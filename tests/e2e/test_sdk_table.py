"""README's table of SDK calls is complete and true: every public call of the SDK's resources
(sync and async clients) has a row, and every call marked 501 is answered `501 not_supported`
through the SDK itself, naming the capability."""

from __future__ import annotations

import asyncio
import inspect
import re
from pathlib import Path
from typing import Any

import pytest
from meetstream import AsyncMeetStream, MeetStream, ServerError
from meetstream import PermissionError as SdkPermissionError

from conftest import new_account, sdk_for
from support.servers import RunningServer

README = Path(__file__).resolve().parents[2] / "README.md"
RESOURCES = ("bots", "transcripts", "storage", "calendar", "mia", "google_logins", "zoom")


def table() -> dict[str, str]:
    """SDK call → the README's verdict ("yes ...", "501", "not yet")."""
    rows: dict[str, str] = {}
    text = README.read_text()
    section = text[text.index("## Every SDK call") :]
    section = section[: section.index("\n## ", 1)]
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        names = re.findall(r"`([a-z_.]+)`", cells[0])
        resource = names[0].split(".")[0]
        for name in names:
            rows[name if "." in name else f"{resource}.{name}"] = cells[2]
    return rows


def sdk_calls(client: Any) -> set[str]:
    out = set()
    for resource in RESOURCES:
        obj = getattr(client, resource)
        out |= {f"{resource}.{n}" for n, _ in inspect.getmembers(type(obj), inspect.isfunction) if not n.startswith("_")}
    return out


def test_every_sdk_call_has_a_row() -> None:
    sync = sdk_calls(MeetStream(api_key="k", base_url="http://127.0.0.1:9"))
    asynchronous = sdk_calls(AsyncMeetStream(api_key="k", base_url="http://127.0.0.1:9"))
    assert sync == asynchronous
    rows = table()
    assert set(rows) == sync, (sync - set(rows), set(rows) - sync)
    assert all(v == "501" or v == "not yet" or v.startswith("yes") for v in rows.values()), rows


def arguments(fn: Any) -> dict[str, Any]:
    """Placeholder values for a call's required parameters (ids, bodies, times)."""
    out: dict[str, Any] = {}
    for name, p in inspect.signature(fn).parameters.items():
        if name == "self" or p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL) or p.default is not p.empty:
            continue
        out[name] = {} if name in ("params", "body") else "00000000-0000-0000-0000-000000000000"
    return out


UNSUPPORTED = sorted(name for name, verdict in table().items() if verdict == "501")


@pytest.mark.parametrize("call", UNSUPPORTED)
def test_calls_outside_a_storage_backend_answer_501(sqlite_server: RunningServer, call: str) -> None:
    api_key = new_account(sqlite_server).api_key
    resource, name = call.split(".")
    fn = getattr(getattr(sdk_for(sqlite_server, api_key), resource), name)
    with pytest.raises(ServerError) as raised:
        fn(**arguments(fn))
    assert raised.value.status == 501, raised.value
    body = raised.value.body
    assert isinstance(body, dict) and body["code"] == "not_supported"
    assert "is not part of meetstore" in body["message"]

    async def call_async() -> None:
        client = AsyncMeetStream(api_key=api_key, base_url=sqlite_server.api, max_retries=0, timeout=60)
        afn = getattr(getattr(client, resource), name)
        with pytest.raises(ServerError) as araised:
            await afn(**arguments(afn))
        assert araised.value.status == 501

    asyncio.run(call_async())
    # With a key that is not valid it is the usual 403: authentication comes first.
    stranger = MeetStream(api_key="not-a-key", base_url=sqlite_server.api, max_retries=0)
    sfn = getattr(getattr(stranger, resource), name)
    with pytest.raises(SdkPermissionError):
        sfn(**arguments(sfn))
