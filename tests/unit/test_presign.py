"""Download URLs signed through a bucket's URL shape (adapters/s3/presign.py: botocore's SigV4
query signer, without resolving the endpoint again per URL) are the ones `generate_presigned_url`
gives: byte for byte, for every URL shape a configuration can give, and for keys with any
characters. Where the shape is one the presigner does not know, `generate_presigned_url` signs.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import boto3
import pytest
from botocore.config import Config
from botocore.credentials import Credentials

from meetstore.adapters.s3.presign import Presigner

SESSION = boto3.session.Session()
KEYS = [
    "meetstream/5b0e/audio.mp3",
    "a b/ü+~%x*.mp3",
    "a//b/./c/../d",
    "weird?&=#[]!$'()*,;:@",
    "日本/語.json",
    "~/" + "x" * 900,
]
SHAPES = [  # endpoint, addressing style, region
    ("http://127.0.0.1:9000", "path", "us-east-1"),
    ("http://127.0.0.1:80", "path", "us-east-1"),
    ("https://minio.example:443", "path", "eu-central-1"),
    ("http://[::1]:9000", "path", "us-east-1"),
    ("https://acct.r2.cloudflarestorage.com", "path", "auto"),
    (None, "virtual", "us-east-1"),
    (None, "virtual", "eu-west-2"),
]


def client(endpoint: str | None, style: str, region: str, token: str | None, **config: Any) -> Any:
    return SESSION.client(
        "s3", region_name=region, endpoint_url=endpoint, aws_access_key_id="AKIAEXAMPLE",
        aws_secret_access_key="secret/key+example", aws_session_token=token,
        config=Config(s3={"addressing_style": style}, **({"signature_version": "s3v4"} | config)),
    )  # fmt: skip


def date_of(url: str) -> str:
    return dict(parse_qsl(url.partition("?")[2])).get("X-Amz-Date", "")


def botocore_url(c: Any, bucket: str, key: str, expires: int) -> str:
    url: str = c.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=expires)
    return url


def same_second(c: Any, presigner: Presigner, bucket: str, key: str, expires: int) -> tuple[str, str]:
    """(botocore's URL, meetstore's) signed within one second of the clock (retried across a tick)."""
    for _ in range(5):
        before = botocore_url(c, bucket, key, expires)
        ours = presigner.url(key, expires)
        after = botocore_url(c, bucket, key, expires)
        if date_of(before) == date_of(after):
            return before, ours
    raise AssertionError("the clock ticked over five times in a row")


@pytest.mark.parametrize("token", [None, "session/token+=="])
@pytest.mark.parametrize(("endpoint", "style", "region"), SHAPES)
def test_urls_match_botocores_byte_for_byte(endpoint: str | None, style: str, region: str, token: str | None) -> None:
    c = client(endpoint, style, region, token)
    for bucket in ("media-bucket", "dotted.bucket.name"):
        presigner = Presigner(c, bucket, Credentials("AKIAEXAMPLE", "secret/key+example", token))
        assert presigner.through_shape, (endpoint, bucket)
        for key in KEYS:
            for expires in (1, 600, 604800):
                theirs, ours = same_second(c, presigner, bucket, key, expires)
                assert ours == theirs


def test_new_credentials_sign_with_a_new_key() -> None:
    """The signing key is derived again when the secret changes (a client's credentials refresh)."""
    c = client("http://127.0.0.1:9000", "path", "us-east-1", None)
    creds = Credentials("AKIAEXAMPLE", "secret/key+example")
    presigner = Presigner(c, "media", creds)
    first = presigner.url("k", 60)
    creds.secret_key = "another-secret"  # what a refreshing credential provider does in place
    theirs, ours = same_second(
        SESSION.client("s3", region_name="us-east-1", endpoint_url="http://127.0.0.1:9000",
                       aws_access_key_id="AKIAEXAMPLE", aws_secret_access_key="another-secret",
                       config=Config(signature_version="s3v4", s3={"addressing_style": "path"})),
        presigner, "media", "k", 60,
    )  # fmt: skip
    assert ours == theirs and ours.split("X-Amz-Signature=")[1] != first.split("X-Amz-Signature=")[1]


def test_shapes_it_does_not_know_are_signed_by_botocore() -> None:
    sigv2 = client("http://127.0.0.1:9000", "path", "us-east-1", None, signature_version="s3")
    presigner = Presigner(sigv2, "media", Credentials("AKIAEXAMPLE", "secret/key+example"))
    assert not presigner.through_shape
    url = presigner.url("meetstream/audio.mp3", 600)
    assert url.startswith("http://127.0.0.1:9000/media/meetstream/audio.mp3?") and "AWSAccessKeyId=AKIAEXAMPLE" in url
    # Credentials other than the client's give other signatures: the check at build time sees it.
    mismatched = Presigner(client("http://127.0.0.1:9000", "path", "us-east-1", None), "media", Credentials("AKIAEXAMPLE", "other"))
    assert not mismatched.through_shape
    keyless = Presigner(client("http://127.0.0.1:9000", "path", "us-east-1", None), "media", None)
    assert not keyless.through_shape and "X-Amz-Signature=" in keyless.url("k", 60)
    assert "secret" not in repr(presigner) and "AKIA" not in repr(presigner)
