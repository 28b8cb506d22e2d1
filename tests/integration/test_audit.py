"""The audit trail (`GET /api/v1/audit`, `meetstore audit export`): every presigned URL a scenario
was handed, configuration changes with their outcome, erasures with their receipts — only the
caller's account, never a secret, chained so an edited entry shows."""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

import httpx
from sqlalchemy import select

from meetstore.adapters.db.tables import AuditEvent
from meetstore.domain.audit import ChainedEntry, chain_breaks

from conftest import new_account, sdk_for
from support.moto_s3 import MotoS3, read_write
from support.pipeline import pinned_bot, storage_body, wait_done, wait_until
from support.processes import cli
from support.servers import RunningServer

FILES = {"audio.mp3": b"ID3 audited" * 100, "chat.json": b'[{"text": "audited"}]'}


def call(server: RunningServer, api_key: str, method: str, path: str, **kw: Any) -> httpx.Response:
    headers = {"Authorization": f"Token {api_key}", **kw.pop("headers", {})}
    return httpx.request(method, f"{server.api}{path}", headers=headers, timeout=30, **kw)


def trail(server: RunningServer, api_key: str, **params: Any) -> list[dict[str, Any]]:
    """Every entry visible to the key, newest first, following next_cursor."""
    out: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        resp = call(server, api_key, "GET", "/audit", params=query)
        assert resp.status_code == 200, resp.text
        out.extend(resp.json()["events"])
        cursor = resp.json()["next_cursor"]
        if cursor is None:
            return out


def key_id(api_key: str) -> str:
    return "key_" + hashlib.sha256(api_key.encode()).hexdigest()[:16]


def test_every_url_issued_is_listed_for_its_account_only(server: RunningServer, moto: MotoS3) -> None:
    bucket = moto.make_bucket()
    keys = moto.make_user(read_write(bucket, "meetstream"))
    acct = new_account(server, "audited")
    other = new_account(server, "neighbour")
    client = sdk_for(server, acct.api_key)
    client.storage.set(storage_body(moto.endpoint, bucket, keys))
    bot = pinned_bot(server.container, acct.account_id, FILES, callback_url=None)
    wait_done(server.container, bot.bot_id)
    theirs = pinned_bot(server.container, other.account_id, FILES, callback_url=None)
    wait_done(server.container, theirs.bot_id)

    handed: list[tuple[str, str]] = []
    for endpoint, field in (("get_audio", "audio_url"), ("get_chats", "download_url"), ("get_manifest", "manifest_url")):
        for _ in range(2):
            resp = call(server, acct.api_key, "GET", f"/bots/{bot.bot_id}/{endpoint}")
            assert resp.status_code == 200, resp.text
            handed.append((endpoint, resp.json()[field]))
    assert call(server, other.api_key, "GET", f"/bots/{theirs.bot_id}/get_audio").status_code == 200
    assert call(server, acct.api_key, "GET", f"/bots/{theirs.bot_id}/get_audio").status_code == 404

    # Written within about a second (buffered off the fetch path).
    wait_until(lambda: len(trail(server, acct.api_key, action="url.issued")) == len(handed), 10, "url.issued flushed")
    issued = trail(server, acct.api_key, action="url.issued")
    for event in issued:
        assert event["bot_id"] == bot.bot_id
        assert event["actor"] == {"api_key_id": key_id(acct.api_key), "address": "127.0.0.1"}
        assert event["detail"]["expires_at"]
    seen = sorted((e["detail"]["endpoint"], e["detail"]["key"]) for e in issued)
    assert seen == sorted((endpoint, url.split("?")[0].split(f"{bucket}/", 1)[1]) for endpoint, url in handed)

    everything = trail(server, acct.api_key)
    assert {e["action"] for e in everything} >= {"api_key.created", "storage.validated", "storage.saved", "url.issued"}
    assert all(e.get("bot_id") in (None, bot.bot_id) for e in everything)
    assert trail(server, acct.api_key, bot_id=theirs.bot_id) == []
    neighbour = trail(server, other.api_key)
    assert {e["action"] for e in neighbour} == {"api_key.created", "url.issued"}

    # No secret anywhere in the trail: not the API keys, the webhook secrets or the bucket keys.
    text = json.dumps(everything) + json.dumps(neighbour)
    for secret in (acct.api_key, other.api_key, acct.webhook_secret, other.webhook_secret, keys[0], keys[1]):
        assert secret not in text

    # Pages: newest first, no entry twice, the cursor of one account useless to another.
    page = call(server, acct.api_key, "GET", "/audit", params={"limit": 2}).json()
    assert len(page["events"]) == 2 and int(page["events"][0]["id"]) > int(page["events"][1]["id"])
    rest = call(server, acct.api_key, "GET", "/audit", params={"limit": 500, "cursor": page["next_cursor"]}).json()
    assert [e["id"] for e in page["events"] + rest["events"]] == [e["id"] for e in everything]
    stolen = call(server, other.api_key, "GET", "/audit", params={"cursor": page["next_cursor"]}).json()
    assert all(e["id"] not in {x["id"] for x in everything} for e in stolen["events"])
    for bad in ({"limit": 0}, {"limit": 501}, {"cursor": "nope"}, {"action": "url.stolen"}, {"bot_id": "x"}):
        resp = call(server, acct.api_key, "GET", "/audit", params=bad)
        assert resp.status_code == 400 and resp.json()["code"] == "invalid_request", (bad, resp.text)


def test_changes_and_erasures_are_chained_and_an_edit_shows(server: RunningServer) -> None:
    acct = new_account(server)
    key = acct.api_key
    call(server, key, "PUT", "/admin/configs?config_type=retention", json={"type": "timed", "hours": 10})
    call(server, key, "DELETE", "/admin/configs?key_name=retention")
    bot = pinned_bot(server.container, acct.account_id, FILES, callback_url=None)
    wait_done(server.container, bot.bot_id)
    receipt = sdk_for(server, key).bots.delete_data(bot.bot_id)["deletion"]

    events = trail(server, key)
    actions = [e["action"] for e in reversed(events)]
    assert actions == ["api_key.created", "retention.saved", "retention.deleted", "data.deleted"]
    deleted = events[0]
    assert deleted["bot_id"] == bot.bot_id and deleted["detail"]["deletion"] == receipt
    assert deleted["actor"]["api_key_id"] == key_id(key)  # who asked, though a worker did it

    oldest_first = [
        ChainedEntry(
            at=datetime_of(e["at"]),
            action=e["action"],
            actor=e["actor"],
            bot_id=e.get("bot_id"),
            detail=e["detail"],
            prev_hash=e["prev_hash"],
            hash=e["hash"],
        )
        for e in reversed(events)
    ]
    assert oldest_first[0].prev_hash == "0" * 64
    assert chain_breaks(oldest_first) == []

    # Someone with database access rewrites an entry: its hash no longer matches.
    with server.container.db.session() as s:
        row = s.scalars(select(AuditEvent).where(AuditEvent.action == "retention.saved")).one()
        row.detail = {"type": "timed", "hours": 99999}
        s.commit()
    tampered = trail(server, key)
    assert tampered[2]["detail"] == {"type": "timed", "hours": 99999}
    assert chain_breaks([entry_of(e) for e in reversed(tampered)]) == [1]


def test_export_prints_json_lines_and_trusted_proxies_name_the_client(make_server: Any, backend: str) -> None:
    server = make_server(backend, trusted_proxies="127.0.0.1/32")
    acct = new_account(server)
    bot = pinned_bot(server.container, acct.account_id, FILES, callback_url=None)
    wait_done(server.container, bot.bot_id)
    # The proxy appended the client's address; what a client sent before it is not believed.
    forwarded = {"X-Forwarded-For": "6.6.6.6, 203.0.113.7"}
    assert call(server, acct.api_key, "GET", f"/bots/{bot.bot_id}/get_audio", headers=forwarded).status_code == 200
    wait_until(lambda: bool(trail(server, acct.api_key, action="url.issued")), 10, "flushed")
    assert trail(server, acct.api_key, action="url.issued")[0]["actor"]["address"] == "203.0.113.7"

    started = time.time()
    out = cli(server, "audit", "export", "--account", acct.account_id, "--since", "2000-01-01T00:00:00Z")
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [e["action"] for e in lines] == ["api_key.created", "url.issued"]
    assert chain_breaks([entry_of(e) for e in lines]) == []
    future = cli(server, "audit", "export", "--account", acct.account_id, "--since", "2999-01-01")
    assert future.returncode == 0 and future.stdout == ""
    unknown = cli(server, "audit", "export", "--account", "00000000-0000-0000-0000-000000000000")
    assert unknown.returncode == 1 and "No account" in unknown.stderr
    bad = cli(server, "audit", "export", "--account", acct.account_id, "--since", "last tuesday")
    assert bad.returncode == 2 and "ISO 8601" in bad.stderr
    assert time.time() - started < 120


def test_forwarded_addresses_are_believed_only_from_trusted_proxies(make_server: Any, backend: str) -> None:
    """Without MEETSTORE_TRUSTED_PROXIES, X-Forwarded-For is the client's own word, even from
    127.0.0.1 (the servers run with uvicorn's options of `meetstore serve`); with a trusted proxy,
    the client it names has its own budget of failed authentications."""
    server = make_server(backend, auth_failures_per_minute=2)
    acct = new_account(server)
    forged = {"X-Forwarded-For": "203.0.113.7"}
    saved = call(
        server, acct.api_key, "PUT", "/admin/configs", params={"config_type": "retention"},
        json={"type": "forever"}, headers=forged,
    )  # fmt: skip
    assert saved.status_code == 200, saved.text
    [entry] = trail(server, acct.api_key, action="retention.saved")
    assert entry["actor"]["address"] == "127.0.0.1"

    proxied = make_server(backend, trusted_proxies="127.0.0.1/32", auth_failures_per_minute=2)
    statuses = [
        call(proxied, "ms_not-a-key", "GET", "/ping", headers={"X-Forwarded-For": "198.51.100.1"}).status_code
        for _ in range(4)
    ]
    assert statuses[:2] == [403, 403] and statuses[-1] == 429, statuses
    # Another client behind the same proxy still gets its answer.
    other = call(proxied, "ms_not-a-key", "GET", "/ping", headers={"X-Forwarded-For": "198.51.100.2"})
    assert other.status_code == 403, other.text


def test_entries_with_any_characters_are_stored_and_verified(make_container: Any, backend: str) -> None:
    """Flushed entries (COPY's text format on PostgreSQL) come back as they were written, and the
    chain over them holds, whatever their text holds: backslashes, tabs, newlines, quotes, unicode."""
    container = make_container(backend)
    account = container.accounts.create("chars").account_id
    keys = ["plain/key.mp3", "back\\slash\\N", "tab\there", "new\nline\r", 'quote"s', "ünï/日本", "\\N"]
    for key in keys:
        container.audit.url_issued(account, "bot-1", "get_audio", "2026-12-06T22:00:00Z", key=key)
    assert container.audit.flush() == len(keys)
    stored = [e for e in container.audit_views.export(account, None) if e["action"] == "url.issued"]
    assert [e["detail"]["key"] for e in stored] == keys
    assert all(e["bot_id"] == "bot-1" and e["actor"] == {"api_key_id": None, "address": None} for e in stored)
    assert chain_breaks([entry_of(e) for e in container.audit_views.export(account, None)]) == []


def datetime_of(text: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def entry_of(e: dict[str, Any]) -> ChainedEntry:
    return ChainedEntry(datetime_of(e["at"]), e["action"], e["actor"], e.get("bot_id"), e["detail"], e["prev_hash"], e["hash"])
