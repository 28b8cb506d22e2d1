"""Audit finding 11: credentials erased by DELETE (or replaced by PUT) stayed readable in the SQLite
write-ahead log and in the database file's free pages."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

from meetstore.adapters.db.tables import StorageConfigRow

from conftest import new_account, sdk_for
from support.moto_s3 import MotoS3, read_write
from support.pipeline import storage_body
from support.servers import RunningServer


def _sealed(server: RunningServer, account_id: str) -> list[bytes]:
    with server.container.db.session() as s:
        row = s.scalars(select(StorageConfigRow).where(StorageConfigRow.account_id == account_id)).one()
        return [bytes(row.access_key_id_ct or b""), bytes(row.secret_key_ct or b"")]


def _database_bytes(server: RunningServer) -> bytes:
    db = Path(server.container.db.url.split("///", 1)[1])
    return b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))  # .db, -wal, -shm


def _found(blobs: list[bytes], haystack: bytes) -> list[bytes]:
    # A 24-byte piece from the middle of each blob: its ciphertext, not a shared header.
    return [b for b in blobs if b[len(b) // 2 : len(b) // 2 + 24] in haystack]


def test_finding_11_deleted_credentials_leave_no_trace_in_the_database_files(
    make_server: Callable[..., RunningServer], moto: MotoS3
) -> None:
    server = make_server("sqlite", workers=False)
    acct = new_account(server)
    client = sdk_for(server, acct.api_key)
    bucket = moto.make_bucket()
    first_keys = moto.make_user(read_write(bucket, "meetstream"))
    client.storage.set(storage_body(moto.endpoint, bucket, first_keys))
    first = _sealed(server, acct.account_id)
    assert _found(first, _database_bytes(server)) == first  # the check can see them

    # Replaced: the old credentials are gone from the files.
    second_keys = moto.make_user(read_write(bucket, "meetstream"))
    client.storage.set(storage_body(moto.endpoint, bucket, second_keys))
    second = _sealed(server, acct.account_id)
    assert _found(first, _database_bytes(server)) == []

    # Deleted: so are the new ones.
    client.storage.delete()
    assert _found(second, _database_bytes(server)) == []
    assert client.storage.get() == {}
