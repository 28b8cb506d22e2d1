"""`meetstore keys rotate` re-wraps every data key; stored credentials stay usable, even in a running server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from meetstore.adapters.crypto.envelope import EnvelopeBox
from meetstore.adapters.db.tables import Account, StorageConfigRow
from meetstore.adapters.s3.bucket import S3Bucket
from meetstore.domain.storage_target import active_of

from conftest import new_account, sdk_for
from support.moto_s3 import MotoS3, read_write
from support.servers import RunningServer


def _cli(server: RunningServer, *args: str) -> subprocess.CompletedProcess[str]:
    s = server.container.settings
    env = {
        **os.environ,
        "MEETSTORE_DATA_DIR": str(s.data_dir),
        "MEETSTORE_DATABASE_URL": s.resolved_database_url,
    }
    env.pop("MEETSTORE_MASTER_KEY", None)
    return subprocess.run(
        [sys.executable, "-m", "meetstore.cli", *args], env=env, capture_output=True, text=True, timeout=120
    )


def _key_ids(server: RunningServer) -> set[str]:
    with server.container.db.session() as s:
        ids = {EnvelopeBox.key_id_of(a.webhook_secret_ct) for a in s.query(Account).all()}
        for row in s.query(StorageConfigRow).all():
            assert row.secret_key_ct is not None
            ids.add(EnvelopeBox.key_id_of(row.secret_key_ct))
    return ids


def test_rotation_keeps_credentials_usable_in_a_running_server(
    make_server: Callable[..., RunningServer], moto: MotoS3, backend: str
) -> None:
    server = make_server(backend, master_key=None)
    bucket = moto.make_bucket()
    keys = moto.make_user(read_write(bucket, "meetstream"))
    acct = new_account(server)
    client = sdk_for(server, acct.api_key)
    body: dict[str, Any] = {
        "provider": "aws",
        "bucket_name": bucket,
        "region": "us-east-1",
        "access_key_id": keys[0],
        "secret_key": keys[1],
        "endpoint_url": moto.endpoint,
    }
    client.storage.set(body)
    secret_before = server.container.accounts.webhook_secret(acct.account_id)
    keyring = Path(server.container.settings.data_dir) / "master.key"
    old_current = json.loads(keyring.read_text())["current"]
    ids_before = _key_ids(server)

    done = _cli(server, "keys", "rotate")
    assert done.returncode == 0, done.stderr
    assert "re-wrapped" in done.stderr

    doc = json.loads(keyring.read_text())
    assert doc["current"] != old_current and doc["older"] == []
    assert oct(keyring.stat().st_mode & 0o777) == "0o600"
    ids_after = _key_ids(server)
    assert len(ids_after) == 1 and ids_after.isdisjoint(ids_before)

    # The running server (its keyring loaded before the rotation) still opens every secret.
    assert server.container.accounts.webhook_secret(acct.account_id) == secret_before
    active = server.container.storage.active(acct.account_id)
    assert active is not None
    server.container.s3.forget(acct.account_id)
    S3Bucket(
        server.container.s3.client(active_of_row(server, acct.account_id).target), bucket, region="us-east-1"
    ).head_bucket()
    # And saving a new configuration through the API still works.
    assert client.storage.set(body)["version"] == 2
    for blob_secret in (keys[1], secret_before):
        assert blob_secret.encode() not in _raw_db_bytes(server)


def active_of_row(server: RunningServer, account_id: str) -> Any:
    with server.container.db.session() as s:
        row = s.get(StorageConfigRow, account_id)
        assert row is not None
        return active_of(row)


def _raw_db_bytes(server: RunningServer) -> bytes:
    url = server.container.settings.resolved_database_url
    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[1])
        return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    with server.container.db.session() as s:
        rows = s.query(StorageConfigRow).all() + s.query(Account).all()
        return repr([vars(r) for r in rows]).encode()
