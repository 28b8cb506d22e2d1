"""AWS KMS as the master key (moto's KMS over HTTP): secrets seal, open, and stay bound to their account."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pydantic import SecretStr

from meetstore.adapters.crypto.envelope import DecryptionError, EnvelopeBox
from meetstore.adapters.db.tables import StorageConfigRow

from conftest import new_account, sdk_for
from support.moto_s3 import MotoS3, read_write
from support.pipeline import storage_body
from support.servers import RunningServer


def test_kms_wraps_every_data_key(make_server: Callable[..., RunningServer], moto: MotoS3) -> None:
    with moto.auth_off():
        key_arn = moto.client("kms", ("testing", "testing")).create_key()["KeyMetadata"]["Arn"]
    server = make_server(
        "sqlite",
        master_key=None,
        kms_key_id=key_arn,
        kms_endpoint_url=moto.endpoint,
        platform_aws_access_key_id=SecretStr(moto.admin_keys[0]),
        platform_aws_secret_access_key=SecretStr(moto.admin_keys[1]),
    )
    bucket = moto.make_bucket()
    keys = moto.make_user(read_write(bucket, "meetstream"))
    acct = new_account(server)
    sdk_for(server, acct.api_key).storage.set(storage_body(moto.endpoint, bucket, keys))
    box = server.container.box
    with server.container.db.session() as s:
        row = s.get(StorageConfigRow, acct.account_id)
        assert row is not None and row.secret_key_ct is not None
        blob = row.secret_key_ct
    assert EnvelopeBox.key_id_of(blob).startswith("kms-")
    assert keys[1].encode() not in blob
    assert box.open(blob, account_id=acct.account_id, purpose="storage.secret_key") == keys[1]
    with pytest.raises(DecryptionError):
        box.open(blob, account_id=new_account(server, "other").account_id, purpose="storage.secret_key")
    assert server.container.accounts.webhook_secret(acct.account_id) == acct.webhook_secret
