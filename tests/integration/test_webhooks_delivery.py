"""Webhook delivery against a real HTTP receiver on 127.0.0.1: signing, order, retries, isolation, dead.

Events are queued the way the pipeline queues them (services/events.emit in a transaction, on a
bot row); the real delivery worker sends them over HTTP.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from meetstream import verify_webhook_signature
from sqlalchemy import select

from meetstore.adapters.db.tables import Bot, WebhookEvent
from meetstore.container import Container
from meetstore.services.events import emit
from meetstore.services.webhooks import SignedRequest, Target
from meetstore.worker.webhooks import HttpSender, WebhookWorker

from support.webhook_receiver import HANG, Received, WebhookReceiver, wait_until

LIFECYCLE = [
    "bot.joining",
    "bot.inmeeting",
    "bot.recording",
    "bot.stopped",
    "audio.processed",
    "video.processed",
    "transcription.processed",
    "bot.done",
]


# ---- helpers -------------------------------------------------------------------------------------


def make_bot(container: Container, account_id: str, callback_url: str | None) -> str:
    bot_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    with container.db.session() as s:
        s.add(
            Bot(
                id=bot_id,
                account_id=account_id,
                transcript_id=str(uuid.uuid4()),
                meeting_link="https://meet.google.com/abc-defg-hij",
                bot_name="Recorder",
                status="Joining",
                callback_url=callback_url,
                options={"custom_attributes": {"team": "blue"}},
                runtime="simulated",
                created_at=now,
                updated_at=now,
            )
        )
    return bot_id


def emit_events(container: Container, bot_id: str, events: list[str], **extra: Any) -> list[int]:
    """Queue each event in its own transaction, as the pipeline does; returns the row ids."""
    ids: list[int] = []
    for event in events:
        with container.transactions.write() as tx:
            bot = tx.bots.get(bot_id)
            assert bot is not None
            row = emit(tx, bot, event, message=f"{event} happened", extra=extra or None)
            assert row is not None
            tx.flush()
            ids.append(row.id)
    return ids


def rows(container: Container, ids: list[int]) -> list[WebhookEvent]:
    with container.db.session() as s:
        found = s.scalars(select(WebhookEvent).where(WebhookEvent.id.in_(ids)).order_by(WebhookEvent.id))
        return list(found.all())


def states(container: Container, ids: list[int]) -> list[str]:
    return [r.state for r in rows(container, ids)]


@pytest.fixture
def receivers() -> Iterator[Callable[..., WebhookReceiver]]:
    made: list[WebhookReceiver] = []

    def factory(respond: Callable[[Received], Any] | None = None) -> WebhookReceiver:
        r = WebhookReceiver(respond) if respond else WebhookReceiver()
        made.append(r)
        return r

    yield factory
    for r in made:
        r.stop()


@pytest.fixture
def workers() -> Iterator[Callable[..., WebhookWorker]]:
    started: list[WebhookWorker] = []

    def factory(container: Container, concurrency: int = 2) -> WebhookWorker:
        w = WebhookWorker(container.webhooks, container.settings, concurrency)
        w.start()
        started.append(w)
        return w

    yield factory
    for w in started:
        w.stop()


def assert_per_bot_order(reqs: list[Received], ids_by_bot: dict[str, list[int]]) -> None:
    """No event of a bot was sent before the previous one was answered 2xx; each 2xx exactly once."""
    for _bot, ids in ids_by_bot.items():
        mine = [r for r in reqs if r.delivery_id in ids]
        sent = [r.delivery_id for r in mine]
        assert sent == sorted(sent), f"sent out of order: {sent}"
        ok = [r.delivery_id for r in mine if r.ok]
        assert ok == ids, f"delivered {ok}, expected each of {ids} once, in order"


# ---- tests ---------------------------------------------------------------------------------------


def test_lifecycle_delivered_signed_in_order_with_done_last(
    make_container: Callable[..., Container],
    backend: str,
    receivers: Callable[..., WebhookReceiver],
    workers: Callable[..., WebhookWorker],
) -> None:
    container = make_container(backend)
    acct = container.accounts.create("acme")
    receiver = receivers()
    bot_id = make_bot(container, acct.account_id, receiver.url)
    ids = emit_events(container, bot_id, LIFECYCLE)
    workers(container, concurrency=4)

    reqs = receiver.wait_for(lambda rs: len([r for r in rs if r.ok]) == len(ids))
    assert [r.event for r in reqs] == LIFECYCLE
    assert [r.delivery_id for r in reqs] == ids
    assert reqs[-1].event == "bot.done"
    stored = {r.id: r.body for r in rows(container, ids)}
    for r in reqs:
        assert r.path == "/hook"
        assert r.headers["content-type"] == "application/json"
        assert r.body == stored[r.delivery_id].encode(), "the stored bytes are sent as they are"
        assert verify_webhook_signature(r.body, r.signature, acct.webhook_secret)
        assert not verify_webhook_signature(r.body, r.signature, "whsec_wrong")
        doc = r.json()
        assert doc["event"] == r.event and doc["bot_event"] == r.event  # MeetStream's two spellings
        assert doc["bot_id"] == bot_id
        assert doc["custom_attributes"] == {"team": "blue"}
        assert doc["status_code"] == 200
        assert doc["timestamp"].endswith("Z")
        assert set(doc) >= {"event", "bot_id", "bot_status", "message", "status_code", "timestamp"}
    wait_until(lambda: states(container, ids) == ["delivered"] * len(ids), what="rows delivered")
    for row in rows(container, ids):
        assert row.attempts == 1 and row.last_status == 200 and row.delivered_at is not None
        assert row.lease_owner is None


def test_receiver_failing_three_times_gets_every_event_exactly_once_in_order(
    make_container: Callable[..., Container],
    backend: str,
    receivers: Callable[..., WebhookReceiver],
    workers: Callable[..., WebhookWorker],
) -> None:
    container = make_container(backend)
    acct = container.accounts.create("acme")
    receiver = receivers(lambda r: 500 if r.index < 3 else 200)
    bot_a = make_bot(container, acct.account_id, receiver.url)
    bot_b = make_bot(container, acct.account_id, receiver.url)
    ids_a = emit_events(container, bot_a, LIFECYCLE)
    ids_b = emit_events(container, bot_b, LIFECYCLE[:4])
    workers(container, concurrency=3)

    total = len(ids_a) + len(ids_b)
    reqs = receiver.wait_for(lambda rs: len([r for r in rs if r.ok]) == total)
    time.sleep(0.3)  # anything sent twice would show up now
    reqs = receiver.snapshot()
    assert len(reqs) == total + 3, "three failed attempts, then each event once"
    assert [r.status for r in reqs[:3]] == [500, 500, 500]
    assert_per_bot_order(reqs, {bot_a: ids_a, bot_b: ids_b})
    for r in reqs:
        assert verify_webhook_signature(r.body, r.signature, acct.webhook_secret)
    # Retries are the same delivery: same id, same body, attempt number counting up.
    by_id: dict[int, list[Received]] = {}
    for r in reqs:
        by_id.setdefault(r.delivery_id, []).append(r)
    retried = {i: rs for i, rs in by_id.items() if len(rs) > 1}
    assert sum(len(rs) - 1 for rs in retried.values()) == 3
    for rs in retried.values():
        assert len({r.body for r in rs}) == 1
        assert [r.headers["x-meetstream-attempt"] for r in rs] == [str(n) for n in range(1, len(rs) + 1)]
    wait_until(lambda: set(states(container, ids_a + ids_b)) == {"delivered"}, what="all delivered")
    assert sum(r.attempts for r in rows(container, ids_a + ids_b)) == total + 3


def test_hanging_receiver_does_not_hold_back_other_bots_or_accounts(
    make_container: Callable[..., Container],
    backend: str,
    receivers: Callable[..., WebhookReceiver],
    workers: Callable[..., WebhookWorker],
) -> None:
    container = make_container(backend)
    stuck_acct = container.accounts.create("stuck")
    other_acct = container.accounts.create("other")
    stuck = receivers(lambda _r: HANG)
    healthy_same_account = receivers()
    healthy_other_account = receivers()
    # Three bots of one account call the receiver that never answers; their events come first.
    stuck_bots = [make_bot(container, stuck_acct.account_id, stuck.url) for _ in range(3)]
    for b in stuck_bots:
        emit_events(container, b, LIFECYCLE[:2])
    bot_b = make_bot(container, stuck_acct.account_id, healthy_same_account.url)
    bot_c = make_bot(container, other_acct.account_id, healthy_other_account.url)
    ids_b = emit_events(container, bot_b, LIFECYCLE)
    ids_c = emit_events(container, bot_c, LIFECYCLE)
    workers(container, concurrency=2)

    started = time.monotonic()
    got_b = healthy_same_account.wait_for(lambda rs: len(rs) == len(ids_b), timeout=5)
    got_c = healthy_other_account.wait_for(lambda rs: len(rs) == len(ids_c), timeout=5)
    assert time.monotonic() - started < 5
    assert [r.delivery_id for r in got_b] == ids_b
    assert [r.delivery_id for r in got_c] == ids_c
    # The stuck receiver holds exactly one delivery (one thread), still unanswered.
    assert len(stuck.snapshot()) == 1
    assert stuck.snapshot()[0].status is None


def test_stop_cuts_a_hanging_attempt_short_and_gives_the_lease_back(
    make_container: Callable[..., Container],
    receivers: Callable[..., WebhookReceiver],
) -> None:
    container = make_container("sqlite")
    acct = container.accounts.create("acme")
    stuck = receivers(lambda _r: HANG)
    bot = make_bot(container, acct.account_id, stuck.url)
    ids = emit_events(container, bot, ["bot.joining"])
    worker = WebhookWorker(container.webhooks, container.settings, 2)
    worker.start()
    stuck.wait_for(lambda rs: len(rs) == 1, timeout=5)
    t0 = time.monotonic()
    worker.stop()
    assert time.monotonic() - t0 < 3
    (row,) = rows(container, ids)
    assert row.state == "pending" and row.attempts == 0
    assert row.lease_owner is None and row.lease_expires_at is None


def test_event_older_than_max_age_is_dead_and_unblocks_the_next(
    make_container: Callable[..., Container],
    backend: str,
    receivers: Callable[..., WebhookReceiver],
    workers: Callable[..., WebhookWorker],
) -> None:
    # Long enough that a loaded machine still gets a retry in before the event is given up.
    container = make_container(backend, webhook_max_age_s=1.5)
    acct = container.accounts.create("acme")
    failing: set[int] = set()
    receiver = receivers(lambda r: 503 if r.delivery_id in failing else 200)
    bot = make_bot(container, acct.account_id, receiver.url)
    first = emit_events(container, bot, ["bot.joining"])
    failing.update(first)
    workers(container)

    wait_until(lambda: states(container, first) == ["dead"], timeout=10, what="first event dead")
    (row,) = rows(container, first)
    assert row.attempts >= 2, "retried before giving up"
    assert row.last_status == 503 and row.last_error == "HTTP 503"
    assert row.delivered_at is None
    assert (datetime.now(UTC) - row.created_at).total_seconds() >= 1.5
    attempts_seen = len(receiver.snapshot())
    assert attempts_seen == row.attempts

    later = emit_events(container, bot, ["bot.inmeeting", "bot.done"])
    got = receiver.wait_for(lambda rs: len([r for r in rs if r.ok]) == 2, timeout=5)
    assert [r.event for r in got if r.ok] == ["bot.inmeeting", "bot.done"]
    wait_until(lambda: states(container, later) == ["delivered", "delivered"], what="later delivered")
    time.sleep(0.3)
    assert len([r for r in receiver.snapshot() if r.delivery_id == first[0]]) == attempts_seen, (
        "a dead event is never sent again"
    )


def test_callback_now_resolving_to_a_private_address_is_dead_without_a_request(
    make_container: Callable[..., Container],
    receivers: Callable[..., WebhookReceiver],
) -> None:
    # The URL passed create_bot's check (e.g. a name that resolved publicly then); at delivery it
    # points at loopback, and private endpoints are not allowed.
    container = make_container("sqlite", allow_private_endpoints=False)
    acct = container.accounts.create("acme")
    receiver = receivers()
    url = receiver.url.replace("127.0.0.1", "localhost")
    bot = make_bot(container, acct.account_id, url)
    ids = emit_events(container, bot, ["bot.joining", "bot.inmeeting"])
    worker = WebhookWorker(container.webhooks, container.settings, 2)
    assert worker.run_once() == 1
    assert worker.run_once() == 1, "the next event is claimable once the first is dead"
    assert worker.run_once() == 0
    for row in rows(container, ids):
        assert row.state == "dead"
        assert row.last_error is not None and "private, loopback or link-local" in row.last_error
        assert row.last_status is None
    assert receiver.snapshot() == []


def test_redirect_is_a_failed_attempt_and_never_followed(
    make_container: Callable[..., Container],
    receivers: Callable[..., WebhookReceiver],
) -> None:
    container = make_container("sqlite")
    acct = container.accounts.create("acme")
    elsewhere = receivers()
    redirecting = receivers(lambda _r: (307, {"Location": elsewhere.url}))
    bot = make_bot(container, acct.account_id, redirecting.url)
    ids = emit_events(container, bot, ["bot.joining"])
    worker = WebhookWorker(container.webhooks, container.settings, 1)
    assert worker.run_once() == 1
    (row,) = rows(container, ids)
    assert row.state == "pending" and row.attempts == 1
    assert row.last_status == 307 and row.last_error is not None and "redirect" in row.last_error
    assert row.next_attempt_at is not None and row.next_attempt_at > row.created_at
    assert len(redirecting.snapshot()) == 1
    assert elsewhere.snapshot() == []


def test_several_workers_share_the_outbox_without_duplicates_or_reordering(
    make_container: Callable[..., Container],
    backend: str,
    receivers: Callable[..., WebhookReceiver],
    workers: Callable[..., WebhookWorker],
) -> None:
    container = make_container(backend)
    accts = [container.accounts.create(f"a{i}") for i in range(3)]
    recvs = [receivers(lambda r: 500 if r.index % 4 == 1 else 200) for _ in accts]
    ids_by_bot: dict[str, list[int]] = {}
    bots_of: list[list[str]] = []
    for acct, recv in zip(accts, recvs, strict=True):
        bots = [make_bot(container, acct.account_id, recv.url) for _ in range(2)]
        bots_of.append(bots)
        for b in bots:
            ids_by_bot[b] = emit_events(container, b, LIFECYCLE)
    for _ in range(3):
        workers(container, concurrency=2)

    for recv, bots in zip(recvs, bots_of, strict=True):
        expected = sum(len(ids_by_bot[b]) for b in bots)
        recv.wait_for(lambda rs, n=expected: len([r for r in rs if r.ok]) == n, timeout=15)
    time.sleep(0.3)
    for recv, bots in zip(recvs, bots_of, strict=True):
        assert_per_bot_order(recv.snapshot(), {b: ids_by_bot[b] for b in bots})


def _cli_env(container: Container) -> dict[str, str]:
    s = container.settings
    env = dict(os.environ)
    env["MEETSTORE_DATA_DIR"] = str(s.data_dir)
    env["MEETSTORE_DATABASE_URL"] = s.resolved_database_url
    assert s.master_key is not None
    env["MEETSTORE_MASTER_KEY"] = s.master_key.get_secret_value()
    return env


def test_rotated_secret_signs_every_later_delivery(
    make_container: Callable[..., Container],
    backend: str,
    receivers: Callable[..., WebhookReceiver],
    workers: Callable[..., WebhookWorker],
) -> None:
    container = make_container(backend)
    acct = container.accounts.create("acme")
    receiver = receivers()
    bot = make_bot(container, acct.account_id, receiver.url)
    emit_events(container, bot, ["bot.joining"])
    workers(container)
    (before,) = receiver.wait_for(lambda rs: len(rs) == 1)
    assert verify_webhook_signature(before.body, before.signature, acct.webhook_secret)

    meetstore = Path(sys.executable).parent / "meetstore"
    out = subprocess.run(
        [str(meetstore), "accounts", "rotate-webhook-secret", acct.account_id],
        env=_cli_env(container),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    new_secret = out.stdout.strip()
    assert new_secret.startswith("whsec_") and new_secret != acct.webhook_secret

    emit_events(container, bot, ["bot.inmeeting", "bot.done"])
    reqs = receiver.wait_for(lambda rs: len(rs) == 3)
    for r in reqs[1:]:
        assert verify_webhook_signature(r.body, r.signature, new_secret)
        assert not verify_webhook_signature(r.body, r.signature, acct.webhook_secret)


def test_total_deadline_holds_against_a_receiver_that_drips_its_answer() -> None:
    """httpx's per-read timeout alone would let a byte-a-tick answer run for ever."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    stop = threading.Event()

    def drip() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 1000:
                if stop.is_set():
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return
                time.sleep(0.05)

    t = threading.Thread(target=drip, daemon=True)
    t.start()
    sender = HttpSender(connect_timeout_s=0.5, total_timeout_s=0.6)
    try:
        t0 = time.monotonic()
        outcome = sender(
            SignedRequest(
                Target(f"http://127.0.0.1:{port}/hook"), {"Content-Type": "application/json"}, b"{}"
            )
        )
        elapsed = time.monotonic() - t0
    finally:
        stop.set()
        sender.close()
        listener.close()
    assert outcome.status is None and not outcome.ok
    assert outcome.error is not None and "timed out" in outcome.error
    assert 0.5 <= elapsed < 1.5


def test_connection_refused_is_retried_with_the_error_recorded(
    make_container: Callable[..., Container],
) -> None:
    container = make_container("sqlite")
    acct = container.accounts.create("acme")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    bot = make_bot(container, acct.account_id, f"http://127.0.0.1:{port}/hook")
    ids = emit_events(container, bot, ["bot.joining"])
    worker = WebhookWorker(container.webhooks, container.settings, 1)
    assert worker.run_once() == 1
    (row,) = rows(container, ids)
    assert row.state == "pending" and row.attempts == 1 and row.last_status is None
    assert row.last_error is not None and "ConnectError" in row.last_error
    assert acct.webhook_secret not in row.last_error


def test_pinned_target_keeps_the_original_host_header(receivers: Callable[..., WebhookReceiver]) -> None:
    """When the connection is pinned to a checked address, the receiver still sees its own name."""
    receiver = receivers()
    sender = HttpSender()
    try:
        outcome = sender(
            SignedRequest(
                Target(receiver.url, host_header="hooks.example.com:8443"),
                {"Content-Type": "application/json"},
                b'{"event":"bot.done"}',
            )
        )
    finally:
        sender.close()
    assert outcome.ok and outcome.status == 200
    (got,) = receiver.snapshot()
    assert got.headers["host"] == "hooks.example.com:8443"
    assert got.body == b'{"event":"bot.done"}'
