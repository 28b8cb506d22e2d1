"""Audit finding 13: `meetstore keys rotate` re-wrapped in two passes and could drop the old key
while a secret sealed under it during the second pass was still in the database."""

from __future__ import annotations

import base64
import os
from collections.abc import Callable

from pydantic import SecretStr

from meetstore.adapters.crypto.envelope import EnvelopeBox, LocalKeyProvider
from meetstore.container import Container
from meetstore.services.accounts import WEBHOOK_SECRET_PURPOSE
from meetstore.services.key_rotation import rewrap_until_clean


def _key() -> bytes:
    return os.urandom(32)


def _b64(raw: bytes) -> SecretStr:
    return SecretStr(base64.b64encode(raw).decode())


def test_finding_13_rotation_repeats_until_a_pass_finds_no_old_key(
    make_container: Callable[..., Container], backend: str
) -> None:
    old, new = _key(), _key()
    stale = EnvelopeBox(LocalKeyProvider(old))  # a process that has not seen the new key yet
    container = make_container(backend, master_key=_b64(new), old_master_keys=_b64(old))
    accounts = [container.accounts.create(f"acct-{n}").account_id for n in range(3)]

    def seal_stale(account_id: str, secret: str) -> None:
        with container.transactions.write() as tx:
            acct = tx.accounts.get(account_id, lock=True)
            assert acct is not None
            acct.webhook_secret_ct = stale.seal(secret, account_id=account_id, purpose=WEBHOOK_SECRET_PURPOSE)

    for n, account_id in enumerate(accounts):
        seal_stale(account_id, f"whsec_before_{n}")

    def progress(pass_no: int, _n: int) -> None:
        # While the first and the second pass run, the stale process seals again under the old key.
        if pass_no in (1, 2):
            seal_stale(accounts[0], f"whsec_during_{pass_no}")

    report = rewrap_until_clean(container.transactions, container.box, progress)

    assert report.clean and report.passes >= 3
    current = container.box.current_key_id()
    with container.transactions.read() as tx:
        for account_id in accounts:
            acct = tx.accounts.get(account_id)
            assert acct is not None
            assert container.box.key_id_of(acct.webhook_secret_ct) == current
    # Readable with the new key alone: dropping the old key loses nothing.
    only_new = EnvelopeBox(LocalKeyProvider(new))
    with container.transactions.read() as tx:
        acct = tx.accounts.get(accounts[0])
        assert acct is not None
        opened = only_new.open(acct.webhook_secret_ct, account_id=accounts[0], purpose=WEBHOOK_SECRET_PURPOSE)
    assert opened == "whsec_during_2"


def test_finding_13_rotation_that_never_settles_says_so(make_container: Callable[..., Container]) -> None:
    old, new = _key(), _key()
    stale = EnvelopeBox(LocalKeyProvider(old))
    container = make_container("sqlite", master_key=_b64(new), old_master_keys=_b64(old))
    account_id = container.accounts.create("acme").account_id

    def seal_stale(_pass_no: int = 0, _n: int = 0) -> None:
        with container.transactions.write() as tx:
            acct = tx.accounts.get(account_id, lock=True)
            assert acct is not None
            acct.webhook_secret_ct = stale.seal("whsec_x", account_id=account_id, purpose=WEBHOOK_SECRET_PURPOSE)

    seal_stale()
    progress = seal_stale  # every pass re-wraps it, and it is sealed under the old key again
    report = rewrap_until_clean(container.transactions, container.box, progress, max_passes=4)
    assert not report.clean and report.passes == 4
