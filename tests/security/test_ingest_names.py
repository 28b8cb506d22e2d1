"""Ingest file names: one artifact has exactly one name.

Found by the schemathesis run: the runtime could hand in `screenshots/1.png` and
`screenshots/00001.png` (or `audio_streams/ada_1.webm` and `ada_01.webm`, or digits from another
script, or a name with a trailing newline), which are two files for one artifact; "left" then
inserted two rows with the same identity and answered 500 for ever, so the bot was never pinned.
Now only the canonical spelling is accepted and every other one is 400 at upload time.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st
from security_support import api_headers, bot_runtime_headers

from meetstore.domain.artifacts import ACCEPTED_NAME_PATTERN, ArtifactKind, SpoolName, parse_spool_name

from conftest import new_account
from support.servers import RunningServer

ARABIC_ONE = "screenshots/" + "\u0660" * 4 + "\u0661" + ".png"
NOT_CANONICAL = [
    "screenshots/1.png",
    "screenshots/0001.png",
    "screenshots/000001.png",
    "screenshots/00000.png",
    ARABIC_ONE,
    "screenshots/00001.png\n",
    "audio_streams/ada_01.webm",
    "audio_streams/ada_0.webm",
    "audio_streams/ada_1.webm\n",
]


def canonical(sp: SpoolName) -> str:
    """The one name of a collection item."""
    if sp.kind is ArtifactKind.SCREENSHOT:
        return f"screenshots/{sp.seq:05d}.png"
    assert sp.kind is ArtifactKind.AUDIO_STREAM
    return f"audio_streams/{sp.participant}_{sp.seq}.webm"


NAMEISH = st.one_of(
    st.from_regex(r"\Ascreenshots/[0-9\u0660-\u0669]{1,10}\.png\n?\Z"),
    st.from_regex(r"\Aaudio_streams/[a-z0-9-]{1,8}_[0-9\u0660-\u0669]{1,5}\.webm\n?\Z"),
    st.text(max_size=40),
)


@settings(max_examples=600, deadline=None)
@given(NAMEISH)
def test_an_accepted_name_is_the_canonical_name_of_its_artifact(name: str) -> None:
    parsed = parse_spool_name(name)
    if parsed is not None and parsed.kind in (ArtifactKind.SCREENSHOT, ArtifactKind.AUDIO_STREAM):
        assert name == canonical(parsed)


def test_documented_pattern_matches_what_is_accepted() -> None:
    import re

    pattern = re.compile(ACCEPTED_NAME_PATTERN.removesuffix("$") + r"\Z")
    for name in [
        *NOT_CANONICAL,
        "screenshots/00001.png",
        "screenshots/123456.png",
        "audio_streams/ada_1.webm",
    ]:
        accepted = parse_spool_name(name) is not None
        assert bool(pattern.match(name)) == accepted, name


def test_two_spellings_of_one_artifact_cannot_break_left(make_server: Callable[..., RunningServer]) -> None:
    server = make_server("sqlite", bot_runtime="external")
    acct = new_account(server)
    bot = httpx.post(
        server.api + "/bots/create_bot",
        json={"meeting_link": "https://meet.google.com/abc-defg-hij", "bot_name": "r"},
        headers=api_headers(acct.api_key),
    ).json()["bot_id"]
    base = f"{server.url}/internal/v1/bots/{bot}"
    with httpx.Client(headers=bot_runtime_headers(server, bot), timeout=10) as http:
        for name in ("screenshots/00001.png", "audio_streams/ada_1.webm"):
            assert http.put(f"{base}/files/{name}", content=b"x" * 10).status_code == 201
        for name in NOT_CANONICAL:
            if name.endswith("\n"):
                continue  # Starlette's path match ends before a trailing newline: the same name
            resp = http.put(f"{base}/files/{quote(name)}", content=b"y" * 10)
            assert resp.status_code == 400, (name, resp.text)
            assert resp.json()["errors"][0]["field"] == "name"
        left = http.post(f"{base}/left")
    assert left.status_code == 200, left.text
    assert left.json()["artifacts"] == 3  # the screenshot, the stream, the manifest
