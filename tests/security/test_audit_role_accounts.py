"""Audit finding 15: a configuration's role_arn could name a role in the platform's own AWS
account, which meetstore's credentials may be trusted by. Such roles are refused before any
AssumeRole call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from pydantic import SecretStr

from conftest import new_account
from support.moto_s3 import MotoS3, make_role, read_write
from support.servers import RunningServer

MOTO_ACCOUNT = "123456789012"  # moto's default account: the roles it creates live there


def _body(endpoint: str, bucket: str, role_arn: str) -> dict[str, Any]:
    return {
        "provider": "aws",
        "bucket_name": bucket,
        "region": "us-east-1",
        "endpoint_url": endpoint,
        "role_arn": role_arn,
    }


def test_finding_15_a_role_of_the_platform_account_is_refused(
    make_server: Callable[..., RunningServer], moto: MotoS3
) -> None:
    platform = moto.make_user([{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}])
    server = make_server(
        "sqlite",
        workers=False,
        platform_aws_access_key_id=SecretStr(platform[0]),
        platform_aws_secret_access_key=SecretStr(platform[1]),
        sts_endpoint_url=moto.endpoint,
        platform_aws_account_ids=f"210987654321, {MOTO_ACCOUNT}",
    )
    acct = new_account(server)
    headers = {"Authorization": f"Token {acct.api_key}"}
    ext = httpx.get(server.api + "/admin/configs/external_id", headers=headers).json()["external_id"]
    bucket = moto.make_bucket()
    role = make_role(moto, ext, read_write(bucket, "meetstream"))  # assumable: it trusts ext
    assert role.split(":")[4] == MOTO_ACCOUNT

    for path, params in (
        ("/admin/configs", {"config_type": "storage"}),
        ("/admin/configs/validate", {"config_type": "storage"}),
        ("/admin/configs/validate", {"config_type": "storage", "deep": "true"}),
    ):
        method = httpx.put if path == "/admin/configs" else httpx.post
        resp = method(server.api + path, params=params, json=_body(moto.endpoint, bucket, role), headers=headers)
        assert resp.status_code == 400, (path, resp.text)
        body = resp.json()
        assert body["code"] == "invalid_request" and body["errors"][0]["field"] == "role_arn", path
    assert httpx.get(server.api + "/admin/configs", headers=headers).json() == {}
