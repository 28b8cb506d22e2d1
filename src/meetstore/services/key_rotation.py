"""Master-key rotation: re-wrap every stored data key under the current master key.

The sealed secrets themselves do not change (their data keys do not); only the wrapping does, so
a rotation is quick, and each row is re-wrapped in its own short transaction.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

from meetstore.domain.ports import KeyRewrapper
from meetstore.domain.repositories import Transactions
from meetstore.domain.storage_target import ACCESS_KEY_PURPOSE, SECRET_KEY_PURPOSE
from meetstore.services.accounts import WEBHOOK_SECRET_PURPOSE
from meetstore.services.spool_keys import PURPOSE as SPOOL_KEY_PURPOSE

MAX_PASSES = 10


@dataclass(frozen=True)
class RotationReport:
    rewrapped: int
    already_current: int
    passes: int = 1
    clean: bool = False
    """The last pass found nothing under an older key: the older keys may be dropped."""


def count_sealed(transactions: Transactions) -> int:
    with transactions.read() as tx:
        return tx.accounts.count() + 2 * tx.storage_configs.count() + tx.spool_keys.count_account_keys()


def rewrap_all(
    transactions: Transactions, box: KeyRewrapper, progress: Callable[[int], None] | None = None
) -> RotationReport:
    """Re-wrap every sealed secret whose data key is not under the current master key."""
    current = box.current_key_id()
    rewrapped = already = 0
    with transactions.read() as tx:
        account_ids = tx.accounts.ids()
        config_ids = tx.storage_configs.account_ids()
    for account_id in account_ids:
        with transactions.write() as tx:
            acct = tx.accounts.get(account_id, lock=True)
            if acct is None:
                continue
            if box.key_id_of(acct.webhook_secret_ct) == current:
                already += 1
            else:
                acct.webhook_secret_ct = box.rewrap(
                    acct.webhook_secret_ct, account_id=account_id, purpose=WEBHOOK_SECRET_PURPOSE
                )
                rewrapped += 1
        if progress:
            progress(1)
    for account_id in config_ids:
        with transactions.write() as tx:
            row = tx.storage_configs.get(account_id, lock=True)
            if row is None:
                continue
            for attr, purpose in (
                ("access_key_id_ct", ACCESS_KEY_PURPOSE),
                ("secret_key_ct", SECRET_KEY_PURPOSE),
            ):
                blob = getattr(row, attr)
                if blob is None:
                    continue
                if box.key_id_of(blob) == current:
                    already += 1
                else:
                    setattr(row, attr, box.rewrap(blob, account_id=account_id, purpose=purpose))
                    rewrapped += 1
        if progress:
            progress(2)
    after = ""
    while True:
        with transactions.write() as tx:
            page = tx.spool_keys.sealed_account_keys(after, 100)
            for account_id, sealed in page:
                if box.key_id_of(sealed) == current:
                    already += 1
                else:
                    tx.spool_keys.replace_account_key(
                        account_id, box.rewrap(sealed, account_id=account_id, purpose=SPOOL_KEY_PURPOSE)
                    )
                    rewrapped += 1
        if not page:
            break
        after = page[-1][0]
        if progress:
            progress(len(page))
    return RotationReport(rewrapped, already)


def rewrap_until_clean(
    transactions: Transactions,
    box: KeyRewrapper,
    progress: Callable[[int, int], None] | None = None,
    *,
    max_passes: int = MAX_PASSES,
) -> RotationReport:
    """Re-wrap in passes until one finds nothing left under an older key.

    A process that had not yet seen the new key may seal a secret under the old one while a pass
    runs, after the pass listed the rows; dropping the old key then would make that secret
    unreadable. Only a pass that re-wraps nothing proves there is none. `progress(pass, n)`.
    """
    rewrapped = 0
    first_already = 0
    for n in range(1, max_passes + 1):
        report = rewrap_all(transactions, box, functools.partial(progress, n) if progress else None)
        if n == 1:
            first_already = report.already_current
        rewrapped += report.rewrapped
        if report.rewrapped == 0:
            return RotationReport(rewrapped, first_already, passes=n, clean=True)
    return RotationReport(rewrapped, first_already, passes=max_passes, clean=False)
