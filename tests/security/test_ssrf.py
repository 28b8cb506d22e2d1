"""SSRF end to end through the API: customer URLs never make meetstore call into private space.

With `MEETSTORE_ALLOW_PRIVATE_ENDPOINTS` off (the default), an `endpoint_url` (storage config, PUT
and validate), a `webhook_url` (storage config) and a `callback_url` (create_bot) that is, or
resolves to, a loopback, private, link-local or metadata address is refused with 400
`endpoint_not_allowed` and nothing is saved or created; a listener at that address receives nothing.
With the setting on, the same loopback URLs work (the control that proves the refusals are the
guard's doing). Redirects are never followed: a webhook receiver or an S3 endpoint answering 3xx to
a private address does not make meetstore call that address.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from security_support import Recorder, api_headers

from meetstore.adapters.db.tables import WebhookEvent

from conftest import new_account, sdk_for
from support.bots import bot_params
from support.moto_s3 import MotoS3, read_write
from support.servers import RunningServer
from support.webhook_receiver import WebhookReceiver, wait_until

# Hosts whose every address is private; {port} is filled with a port a Recorder listens on.
PRIVATE_HOSTS = [
    "127.0.0.1",
    "127.8.9.10",
    "[::1]",
    "[::ffff:127.0.0.1]",
    "0.0.0.0",
    "10.0.0.5",
    "10.255.255.254",
    "172.16.0.1",
    "172.31.255.254",
    "192.168.0.1",
    "192.168.255.254",
    "169.254.169.254",
    "[fd00::1]",
    "[fe80::1]",
    "2130706433",  # 127.0.0.1 in decimal: the system resolver accepts it
    "0x7f.1",
]


def resolving_names() -> list[str]:
    """Host names that resolve (here, offline: /etc/hosts) to private addresses only."""
    out = []
    for name in ("localhost", "ip6-localhost", "ip6-loopback", socket.gethostname()):
        try:
            addrs = {info[4][0] for info in socket.getaddrinfo(name, 80, proto=socket.IPPROTO_TCP)}
        except OSError:
            continue  # e.g. ip6-localhost is not in this machine's /etc/hosts
        if addrs and all(a.startswith(("127.", "::1", "10.", "192.168.", "fe80", "fd")) for a in addrs):
            out.append(name)
    assert "localhost" in out
    return sorted(set(out))


ALL_HOSTS = PRIVATE_HOSTS + resolving_names()


@pytest.fixture
def listener() -> Iterator[Recorder]:
    rec = Recorder(200)
    yield rec
    rec.stop()


@pytest.fixture
def guarded(make_server: Callable[..., RunningServer]) -> RunningServer:
    return make_server("sqlite", allow_private_endpoints=False, validation_timeout_s=2.0)


def _url(host: str, port: int) -> str:
    return f"http://{host}:{port}/hook"


def _storage(moto: MotoS3, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "provider": "aws",
        "bucket_name": "any-bucket",
        "region": "us-east-1",
        "access_key_id": "AKIAEXAMPLEEXAMPLE00",
        "secret_key": "s" * 40,
    }
    body.update(extra)
    return body


def _refused(resp: httpx.Response, field: str) -> None:
    assert resp.status_code == 400, resp.text
    doc = resp.json()
    assert doc["code"] == "endpoint_not_allowed", doc
    assert doc["field"] == field
    assert field in doc["message"]


def test_private_urls_are_refused_everywhere_a_customer_gives_one(
    guarded: RunningServer, moto: MotoS3, listener: Recorder
) -> None:
    acct = new_account(guarded)
    h = api_headers(acct.api_key)
    port = int(listener.url.rsplit(":", 1)[1])
    refused = 0
    with httpx.Client(base_url=guarded.api, headers=h, timeout=30) as http:
        for host in ALL_HOSTS:
            url = _url(host, port)
            for path in ("/admin/configs", "/admin/configs/validate"):
                method = "PUT" if path == "/admin/configs" else "POST"
                resp = http.request(
                    method, path, params={"config_type": "storage"}, json=_storage(moto, endpoint_url=url)
                )
                _refused(resp, "endpoint_url")
                resp = http.request(
                    method,
                    path,
                    params={"config_type": "storage"},
                    json=_storage(moto, webhook_url=url),
                )
                _refused(resp, "webhook_url")
                refused += 2
            resp = http.post("/bots/create_bot", json=bot_params(1.0, callback_url=url))
            _refused(resp, "callback_url")
            refused += 1
        # Nothing was saved or created, and nobody called the listener.
        assert http.get("/admin/configs").json() == {}
        assert http.get("/bots").json()["bots"] == []
    time.sleep(0.3)
    assert listener.requests == []
    assert refused == 5 * len(ALL_HOSTS)
    print(f"\nSSRF: {refused} refusals over {len(ALL_HOSTS)} hosts ({', '.join(ALL_HOSTS)})")


def test_the_same_loopback_urls_work_when_private_endpoints_are_allowed(
    make_server: Callable[..., RunningServer], moto: MotoS3
) -> None:
    """The control: with the setting on, a loopback S3 endpoint and callback are used."""
    server = make_server("sqlite", allow_private_endpoints=True)
    acct = new_account(server)
    client = sdk_for(server, acct.api_key)
    bucket = moto.make_bucket()
    keys = moto.make_user(read_write(bucket, "meetstream"))
    receiver = WebhookReceiver()
    try:
        view = client.storage.set(
            {
                "provider": "aws",
                "bucket_name": bucket,
                "region": "us-east-1",
                "access_key_id": keys[0],
                "secret_key": keys[1],
                "endpoint_url": moto.endpoint.replace("127.0.0.1", "localhost"),
                "webhook_url": receiver.url,
            }
        )
        assert view["endpoint_url"].startswith("http://localhost:")
        client.bots.create(bot_params(1.0, callback_url=receiver.url))
        receiver.wait_for(lambda rs: any(r.event == "bot.joining" for r in rs), timeout=20)
    finally:
        receiver.stop()


def test_a_webhook_redirect_to_a_private_address_is_not_followed(
    make_server: Callable[..., RunningServer],
) -> None:
    """The receiver answers 302 → a 'private' target; meetstore records a failure and moves on.

    Both listeners are on 127.0.0.1 (allow_private on for the first hop), so the proof is that
    the redirect target receives nothing while the receiver is called again and again.
    """
    server = make_server("sqlite", allow_private_endpoints=True, webhook_max_age_s=30.0)
    target = Recorder(200)
    receiver = Recorder(302, {"Location": target.url + "/latest/meta-data/iam/security-credentials/"})
    try:
        acct = new_account(server)
        client = sdk_for(server, acct.api_key)
        bot_id = client.bots.create(bot_params(30.0, callback_url=receiver.url + "/hook"))["bot_id"]
        wait_until(lambda: len(receiver.requests) >= 3, timeout=20, what="three delivery attempts")

        def first_event() -> WebhookEvent:
            with server.container.db.session() as s:
                row = s.query(WebhookEvent).filter_by(bot_id=bot_id).order_by(WebhookEvent.id).first()
                assert row is not None
                s.expunge(row)
                return row

        wait_until(lambda: first_event().attempts >= 2, timeout=20, what="two recorded attempts")
        row = first_event()
        assert row.state == "pending" and row.last_status == 302
        assert row.last_error is not None and "redirects are not followed" in row.last_error
        hook = client.bots.detail(bot_id)["webhooks"][0]
        assert hook["event"] == "bot.joining" and hook["last_status"] == 302 and hook["state"] == "pending"
        assert all(method == "POST" and path == "/hook" for method, path in receiver.requests)
        assert target.requests == []
        client.bots.remove(bot_id)
    finally:
        receiver.stop()
        target.stop()


def test_an_s3_endpoint_redirect_to_a_private_address_is_not_followed(
    make_server: Callable[..., RunningServer],
) -> None:
    """An S3 endpoint that answers 307 → a private address: validation fails, the target is not called."""
    server = make_server("sqlite", allow_private_endpoints=True, validation_timeout_s=3.0)
    target = Recorder(200)
    endpoint = Recorder(307, {"Location": target.url + "/latest/meta-data/"})
    try:
        acct = new_account(server)
        with httpx.Client(base_url=server.api, headers=api_headers(acct.api_key), timeout=30) as http:
            for mode in ("read_write", "write_only"):
                resp = http.put(
                    "/admin/configs",
                    params={"config_type": "storage"},
                    json={
                        "provider": "aws",
                        "bucket_name": "redirecting-bucket",
                        "region": "us-east-1",
                        "access_key_id": "AKIAEXAMPLEEXAMPLE00",
                        "secret_key": "s" * 40,
                        "endpoint_url": endpoint.url,
                        "access_mode": mode,
                    },
                )
                assert resp.status_code == 400, resp.text
                assert resp.json()["code"] == "storage_validation_failed"
            assert http.get("/admin/configs").json() == {}
        assert endpoint.requests, "the endpoint itself was asked"
        assert target.requests == []
    finally:
        endpoint.stop()
        target.stop()
