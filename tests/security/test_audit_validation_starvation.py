"""Audit finding 3: validations against a slow endpoint ran on the API's request threads with no
overall deadline; sixty of them made another tenant's `GET /bots` wait 25 s. Now an account has
at most two validations in flight, they run on their own threads, and each has one deadline."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator

import httpx
import pytest

from conftest import new_account
from support.pipeline import wait_until
from support.servers import RunningServer


class BlackHole:
    """A TCP endpoint that accepts connections and never answers."""

    def __init__(self) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.url = f"http://127.0.0.1:{self._sock.getsockname()[1]}"
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self) -> None:
        self._sock.close()
        for conn in self.accepted:
            conn.close()


@pytest.fixture
def black_hole() -> Iterator[BlackHole]:
    hole = BlackHole()
    yield hole
    hole.close()


def _validate(server: RunningServer, api_key: str, endpoint: str, deep: bool = False) -> httpx.Response:
    return httpx.post(
        f"{server.api}/admin/configs/validate",
        params={"config_type": "storage", **({"deep": "true"} if deep else {})},
        json={
            "provider": "aws",
            "bucket_name": "slow-bucket",
            "region": "us-east-1",
            "access_key_id": "AKIAEXAMPLEEXAMPLE00",
            "secret_key": "s" * 40,
            "endpoint_url": endpoint,
        },
        headers={"Authorization": f"Token {api_key}"},
        timeout=120,
    )


def test_finding_3_a_black_hole_endpoint_cannot_slow_another_tenant(
    make_server: Callable[..., RunningServer], black_hole: BlackHole
) -> None:
    # Each S3 call may wait 60 s: only the deadline (1 s) can end a validation early.
    server = make_server("sqlite", workers=False, validation_timeout_s=60.0, validation_deadline_s=1.0)
    tenant, other = new_account(server), new_account(server, "other")

    answers: list[httpx.Response] = []
    callers = [
        threading.Thread(target=lambda deep=deep: answers.append(_validate(server, tenant.api_key, black_hole.url, deep)))
        for deep in (False, True)
    ]
    for t in callers:
        t.start()
    # Both of the tenant's validations are waiting on the black hole: its slots are full.
    wait_until(lambda: len(black_hole.accepted) >= 2, timeout=30, what="two validations connected")

    third = _validate(server, tenant.api_key, black_hole.url)
    assert third.status_code == 429, third.text
    assert third.json()["code"] == "too_many_validations" and int(third.headers["retry-after"]) >= 1

    listed = httpx.get(f"{server.api}/bots", headers={"Authorization": f"Token {other.api_key}"}, timeout=30)
    assert listed.status_code == 200 and listed.json()["bots"] == []

    for t in callers:
        t.join(timeout=60)
    assert [a.status_code for a in answers] == [400, 400]
    for a in answers:
        body = a.json()
        assert body["code"] == "storage_validation_failed" and body["s3_error"] == "Timeout", body
