"""Audit finding 10: webhook signatures covered only the body, so a captured delivery verified
forever. Deliveries now also carry the Standard Webhooks headers (API.md "Webhook signatures"),
checked here with the `standardwebhooks` package and with the MeetStream SDK."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable, Iterator

import pytest
from meetstream import verify_webhook_signature
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from integration.test_webhooks_delivery import emit_events, make_bot
from meetstore.container import Container
from meetstore.worker.webhooks import WebhookWorker

from support.webhook_receiver import WebhookReceiver

EVENTS = ["bot.joining", "bot.inmeeting", "bot.stopped"]


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    r = WebhookReceiver(lambda req: 500 if req.index < 2 else 200)  # the first two attempts fail
    yield r
    r.stop()


def _headers(h: dict[str, str]) -> dict[str, str]:
    return {k: h[k] for k in ("webhook-id", "webhook-timestamp", "webhook-signature")}


def test_finding_10_deliveries_carry_standard_webhooks_signatures(
    make_container: Callable[..., Container], backend: str, receiver: WebhookReceiver
) -> None:
    container = make_container(backend)
    acct = container.accounts.create("acme")
    secret = acct.webhook_secret
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[len("whsec_") :], validate=True)) == 32
    bot_id = make_bot(container, acct.account_id, receiver.url)
    ids = emit_events(container, bot_id, EVENTS)
    worker = WebhookWorker(container.webhooks, container.settings, 1)
    worker.start()
    try:
        reqs = receiver.wait_for(lambda rs: len([r for r in rs if r.ok]) == len(ids))
    finally:
        worker.stop()

    hook = Webhook(secret)
    for r in reqs:
        hook.verify(r.body, _headers(r.headers))  # raises when it does not verify
        assert verify_webhook_signature(r.body, r.signature, secret)  # the SDK's check still holds
        assert r.headers["webhook-id"] == r.headers["x-meetstream-delivery"]
        assert abs(int(r.headers["webhook-timestamp"]) - time.time()) < 60
    # A retry is the same message (same id) signed afresh for its own attempt.
    first = [r for r in reqs if r.delivery_id == ids[0]]
    assert len(first) == 3 and len({r.headers["webhook-id"] for r in first}) == 1
    assert [int(r.headers["x-meetstream-attempt"]) for r in first] == [1, 2, 3]

    # The timestamp is signed: a captured delivery cannot be given a fresh time.
    captured = _headers(reqs[-1].headers)
    replayed = {**captured, "webhook-timestamp": str(int(time.time()) + 1)}
    with pytest.raises(WebhookVerificationError):
        hook.verify(reqs[-1].body, replayed)
    # And one whose own time is old is refused by the library's tolerance (5 minutes).
    old = int(captured["webhook-timestamp"]) - 600
    from meetstore.services.webhooks import sign_standard

    stale = {
        **captured,
        "webhook-timestamp": str(old),
        "webhook-signature": sign_standard(reqs[-1].body, secret, captured["webhook-id"], old),
    }
    with pytest.raises(WebhookVerificationError):
        hook.verify(reqs[-1].body, stale)


def test_tracebacks_pass_through_the_secret_redaction() -> None:
    import io
    import logging

    from meetstore.logging_setup import RedactSecrets, configure_logging

    configure_logging("INFO")
    handler = next(h for h in logging.getLogger().handlers if any(isinstance(f, RedactSecrets) for f in h.filters))
    assert isinstance(handler, logging.StreamHandler)
    out = io.StringIO()
    previous = handler.setStream(out)
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    try:
        try:
            raise RuntimeError(f"failed with {secret} and ms_{'a' * 30}")
        except RuntimeError:
            logging.getLogger("meetstore.test").exception("delivery failed")
    finally:
        handler.setStream(previous)
    text = out.getvalue()
    assert "RuntimeError" in text and "delivery failed" in text
    assert secret not in text and "ms_" + "a" * 30 not in text and "[redacted]" in text
