"""Audit findings 14 (API keys could be neither revoked nor rotated but with SQL, and a background
re-validation could undo a revocation) and 7 (an upload in flight went on with credentials the
customer had just deleted). Both travel on the change feed (services/changes.py), which every
process reads every `change_poll_s`."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import httpx
import pytest

from meetstore.container import Container
from meetstore.domain.repositories import Transaction, Transactions
from meetstore.errors import InvalidApiKey
from meetstore.services.accounts import AccountService
from meetstore.worker.uploads import UploadWorker

from conftest import new_account, sdk_for
from support.fault_proxy import FaultProxy
from support.moto_s3 import MotoS3, read_write
from support.pipeline import artifacts, pinned_bot, random_chunks, storage_body, wait_done, wait_until
from support.processes import cli
from support.servers import RunningServer

MB = 1024 * 1024


def _status(server: RunningServer, api_key: str) -> int:
    return httpx.get(f"{server.api}/bots", headers={"Authorization": f"Token {api_key}"}, timeout=10).status_code


def test_finding_14_rotate_and_revoke_reach_a_running_server(
    make_server: Callable[..., RunningServer], backend: str
) -> None:
    server = make_server(backend, workers=False, auth_cache_ttl_s=3600.0)  # only the feed can drop a key
    acct = new_account(server)
    assert _status(server, acct.api_key) == 200  # cached in the server from here on

    rotated = cli(server, "accounts", "rotate-key", acct.account_id, "--json")
    assert rotated.returncode == 0, rotated.stderr
    new_key = json.loads(rotated.stdout)["api_key"]
    assert new_key != acct.api_key and new_key.startswith("ms_")
    wait_until(lambda: _status(server, acct.api_key) == 403, timeout=5, what="the old key refused")
    assert _status(server, new_key) == 200

    revoked = cli(server, "accounts", "revoke-key", acct.account_id)
    assert revoked.returncode == 0, revoked.stderr
    assert new_key not in revoked.stdout + revoked.stderr
    wait_until(lambda: _status(server, new_key) == 403, timeout=5, what="the revoked key refused")

    missing = cli(server, "accounts", "revoke-key", "00000000-0000-0000-0000-000000000000")
    assert missing.returncode == 1 and "No such account" in missing.stderr


class _RevokeDuringLookup:
    """The Transactions port of a container, whose next read is followed, before its caller goes
    on, by `then()`: a revocation committing in that gap."""

    def __init__(self, inner: Transactions) -> None:
        self._inner = inner
        self.then: Callable[[], None] | None = None

    def write(self) -> AbstractContextManager[Transaction]:
        return self._inner.write()

    @contextmanager
    def read(self) -> Iterator[Transaction]:
        with self._inner.read() as tx:
            yield tx
        hook, self.then = self.then, None
        if hook is not None:
            hook()

    def scrub(self) -> None:
        self._inner.scrub()


def test_finding_14_a_revalidation_racing_a_revocation_does_not_undo_it(
    make_container: Callable[..., Container], backend: str
) -> None:
    container = make_container(backend)
    acct = container.accounts.create("acme")
    tx = _RevokeDuringLookup(container.transactions)
    accounts = AccountService(tx, container.box, auth_cache_ttl_s=60.0)
    assert accounts.authenticate(acct.api_key) == acct.account_id

    # The re-validation reads the key as valid; the revocation commits before it writes the cache.
    tx.then = lambda: accounts.revoke(acct.account_id)
    accounts.revalidate(acct.api_key)

    assert accounts.cached_account(acct.api_key) is None
    with pytest.raises(InvalidApiKey):
        accounts.authenticate(acct.api_key)


def test_finding_7_an_upload_in_flight_stops_when_its_configuration_is_deleted(
    make_server: Callable[..., RunningServer], backend: str, moto: MotoS3
) -> None:
    server = make_server(
        backend,
        workers=False,
        multipart_threshold_mb=5,
        multipart_chunksize_mb=5,
        transfer_max_concurrency=1,
    )
    container = server.container
    bucket = moto.make_bucket()
    keys = moto.make_user(read_write(bucket, "meetstream"))
    acct = new_account(server)
    client = sdk_for(server, acct.api_key)
    proxy = FaultProxy(moto.port, latency_s=0.3).start()  # 12 parts: several seconds of upload
    worker = UploadWorker(container.uploads, container.settings, 1)
    try:
        client.storage.set(storage_body(proxy.url, bucket, keys))
        bot = pinned_bot(container, acct.account_id, {"audio.mp3": random_chunks(60 * MB)}, callback_url=None)
        worker.start()
        wait_until(
            lambda: artifacts(container, bot.bot_id)["audio.mp3"].multipart_upload_id is not None,
            timeout=30,
            what="the upload in flight",
        )
        client.storage.delete()  # the customer withdraws the credentials mid-upload
        wait_done(container, bot.bot_id, timeout=60)
    finally:
        worker.stop()
        proxy.stop()
    row = artifacts(container, bot.bot_id)["audio.mp3"]
    assert (row.state, row.last_error_code) == ("failed", "StorageNotAccessible")
    assert f"meetstream/{bot.bot_id}_audio.mp3" not in moto.keys(bucket)
