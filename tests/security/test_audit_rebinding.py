"""Audit finding 1: the address of a customer's `endpoint_url` was checked once, at save time, and
a name that did not resolve was let through; every later connection resolved the name again. Now
every S3 and STS connection goes through the connect-time guard (adapters/s3/egress.py): the name
is resolved there, each address checked, and the connection made to exactly the checked address.

The resolver here is an in-memory implementation of the guard's resolver port: it answers what a
rebinding DNS server answers. The names it knows do not exist in real DNS, so a request that
reaches moto at all went to the address the guard checked and pinned."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from security_support import moto_writer

from meetstore.adapters.db.migrate import upgrade
from meetstore.adapters.net_guard import check_url_allowed
from meetstore.adapters.s3.egress import EgressGuard, Refused
from meetstore.container import build_container
from meetstore.errors import EndpointNotAllowed

from conftest import new_account, sdk_for, settings_for
from support.fetch_rows import custom_pin, seed_bot
from support.moto_s3 import MotoS3, read_write
from support.pipeline import storage_body
from support.servers import RunningServer, start_server


class RebindingResolver:
    """Answers each name's addresses in turn, the last one from then on."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers = answers
        self.asked: list[str] = []

    def rebind(self, host: str, *addresses: str) -> None:
        self.answers[host] = [list(addresses)]

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        seq = self.answers.get(host)
        if not seq:
            raise OSError(f"{host} does not resolve")
        return seq.pop(0) if len(seq) > 1 else seq[0]


def test_finding_1_the_guard_checks_every_connection_and_fails_closed() -> None:
    resolver = RebindingResolver(
        {
            "bucket.rebind.example": [["93.184.216.34"], ["169.254.169.254"]],
            "mixed.example": [["93.184.216.34", "10.0.0.7"]],
            "site-local.example": [["fec0::1"]],
            "ietf.example": [["192.0.0.8"]],
        }
    )
    guard = EgressGuard(allow_private=False, resolver=resolver)
    assert guard.address_for("bucket.rebind.example", 443) == ipaddress.ip_address("93.184.216.34")
    for host in ("bucket.rebind.example", "mixed.example", "site-local.example", "ietf.example", "nowhere.example"):
        with pytest.raises(Refused):
            guard.address_for(host, 443)
    # Loopback and private networks may be allowed (development); link-local and metadata never.
    relaxed = EgressGuard(allow_private=True, resolver=RebindingResolver({"local.example": [["127.0.0.1"]]}))
    assert relaxed.address_for("local.example", 80) == ipaddress.ip_address("127.0.0.1")
    for literal in ("169.254.169.254", "fe80::1", "[fd00:ec2::254]"):
        with pytest.raises(Refused):
            relaxed.address_for(literal, 80)


@pytest.mark.parametrize(
    ("url", "allow_private"),
    [
        ("http://169.254.169.254/", True),
        ("http://[fe80::1]:9000/", True),
        ("http://[::ffff:169.254.169.254]/", True),
        ("http://[fec0::1]/", False),
        ("http://192.0.0.8/", False),
        ("http://127.0.0.1:9000/", False),
    ],
)
def test_finding_1_save_time_refuses_every_non_global_range(url: str, allow_private: bool) -> None:
    with pytest.raises(EndpointNotAllowed):
        check_url_allowed(url, "endpoint_url", allow_private=allow_private)


@pytest.fixture
def rebinding_server(tmp_path: Path, moto: MotoS3) -> Iterator[tuple[RunningServer, RebindingResolver]]:
    # The name answers the S3 server (allowed in development) until the test rebinds it. (A name
    # without dots: moto reads a bucket name from any dotted host it does not know.)
    resolver = RebindingResolver({"s3rebind": [["127.0.0.1"]]})
    container = build_container(settings_for(tmp_path, None, allow_private_endpoints=True), resolver=resolver)
    upgrade(container.db)
    server = start_server(container, workers=False)
    yield server, resolver
    server.stop()
    container.close()


def test_finding_1_a_name_that_rebinds_after_the_check_is_refused_at_connect_time(
    rebinding_server: tuple[RunningServer, RebindingResolver], moto: MotoS3
) -> None:
    server, resolver = rebinding_server
    bucket = moto.make_bucket()
    keys = moto.make_user(read_write(bucket, "meetstream"))
    acct = new_account(server)
    client = sdk_for(server, acct.api_key)
    endpoint = f"http://s3rebind:{moto.port}"
    view = client.storage.set(storage_body(endpoint, bucket, keys))  # validated through the guard
    assert view["endpoint_url"] == endpoint and "s3rebind" in resolver.asked

    seeded = seed_bot(server.container, acct.account_id, **custom_pin(view), write=moto_writer(moto, bucket))
    headers = {"Authorization": f"Token {acct.api_key}"}
    read = f"{server.api}/transcript/{seeded.transcript_id}/get_transcript"
    assert httpx.get(read, headers=headers, timeout=60).status_code == 200  # pinned to the checked address

    resolver.rebind("s3rebind", "169.254.169.254")
    transcript = httpx.get(read, headers=headers, timeout=60)
    # The name now answers the metadata address: the read is refused, never sent there.
    assert transcript.status_code == 502, transcript.text
    body = transcript.json()
    assert body["s3_error"] == "EndpointNotAllowed", body
    assert "169.254.169.254" not in transcript.text


def test_a_closed_guard_listens_nowhere_and_sends_no_client_to_its_old_port() -> None:
    guard = EgressGuard(allow_private=True)
    old = httpx.URL(guard.url)
    with socket.create_connection((old.host, old.port), timeout=5):
        pass  # listening while open
    guard.close()
    # Closing the listener under its blocked accept() used to leave the kernel socket listening.
    with pytest.raises(ConnectionRefusedError), socket.create_connection((old.host, old.port), timeout=5):
        pass
    assert httpx.URL(guard.url).port != old.port
