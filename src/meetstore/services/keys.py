"""Master-key rotation: re-wrap every stored data key under the current master key.

The sealed secrets themselves do not change (their data keys do not); only the wrapping does, so
a rotation is quick, and each row is re-wrapped in its own short transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select

from meetstore.adapters.crypto.envelope import EnvelopeBox
from meetstore.adapters.db.engine import Database
from meetstore.adapters.db.tables import Account, StorageConfigRow
from meetstore.adapters.s3.clients import ACCESS_KEY_PURPOSE, SECRET_KEY_PURPOSE
from meetstore.services.accounts import WEBHOOK_SECRET_PURPOSE


@dataclass(frozen=True)
class RotationReport:
    rewrapped: int
    already_current: int


def count_sealed(db: Database) -> int:
    with db.session() as s:
        accounts = s.execute(select(func.count()).select_from(Account)).scalar_one()
        configs = s.execute(select(func.count()).select_from(StorageConfigRow)).scalar_one()
    return int(accounts) + 2 * int(configs)


def rewrap_all(
    db: Database, box: EnvelopeBox, progress: Callable[[int], None] | None = None
) -> RotationReport:
    """Re-wrap every sealed secret whose data key is not under the current master key."""
    current = box.current_key_id()
    rewrapped = already = 0
    with db.session() as s:
        account_ids = [r for (r,) in s.execute(select(Account.id)).all()]
        config_ids = [r for (r,) in s.execute(select(StorageConfigRow.account_id)).all()]
    for account_id in account_ids:
        with db.session() as s:
            acct = s.get(Account, account_id, with_for_update=True)
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
        with db.session() as s:
            row = s.get(StorageConfigRow, account_id, with_for_update=True)
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
    return RotationReport(rewrapped, already)
