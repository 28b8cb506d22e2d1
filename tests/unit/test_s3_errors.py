"""translate(): real botocore exceptions → S3OperationError with a message that says what to fix.

The ClientError objects are built the way botocore builds them from an S3 response (a plain
data object: error_response + operation name); moto cannot produce region mismatches.
"""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from meetstore.adapters.s3.errors import translate
from meetstore.errors import S3OperationError

BUCKET = "acme-recordings"
ACCESS_KEY = "AKIAZZSECRETKEY12345"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def client_error(
    operation: str,
    status: int,
    code: str | None = None,
    message: str | None = None,
    headers: dict[str, str] | None = None,
    **error_fields: str,
) -> ClientError:
    error: dict[str, Any] = {}
    if code is not None:
        error["Code"] = code
    if message is not None:
        error["Message"] = message
    error.update(error_fields)
    response: dict[str, Any] = {
        "Error": error,
        "ResponseMetadata": {
            "RequestId": "4442587FB7D0A2F9",
            "HostId": "host-id",
            "HTTPStatusCode": status,
            "HTTPHeaders": {"content-type": "application/xml", **(headers or {})},
            "RetryAttempts": 0,
        },
    }
    return ClientError(response, operation)


def assert_no_secrets(err: S3OperationError) -> None:
    for text in (err.message, str(err), repr(err), repr(err.details)):
        assert ACCESS_KEY not in text
        assert SECRET_KEY not in text


def test_invalid_access_key_id() -> None:
    exc = client_error(
        "HeadBucket",
        403,
        "InvalidAccessKeyId",
        f"The AWS Access Key Id you provided does not exist in our records: {ACCESS_KEY}",
        AWSAccessKeyId=ACCESS_KEY,
    )
    err = translate(exc, operation="HeadBucket", bucket=BUCKET, region="us-east-1")
    assert err.s3_error == "InvalidAccessKeyId"
    assert err.operation == "HeadBucket" and err.bucket == BUCKET
    assert err.transient is False
    assert err.http_status == 403
    assert "access_key_id" in err.message
    assert err.details["s3_error"] == "InvalidAccessKeyId"
    assert_no_secrets(err)


def test_signature_does_not_match() -> None:
    exc = client_error(
        "PutObject",
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided.",
        AWSAccessKeyId=ACCESS_KEY,
        StringToSign=f"AWS4-HMAC-SHA256\n20240101T000000Z\n{ACCESS_KEY}",
        SignatureProvided="abcdef",
        CanonicalRequest=f"PUT\n/{BUCKET}/meetstream/x\nX-Amz-Credential={ACCESS_KEY}",
    )
    err = translate(exc, operation="PutObject", bucket=BUCKET, key="meetstream/x")
    assert err.s3_error == "SignatureDoesNotMatch"
    assert err.transient is False
    assert "secret_key" in err.message and "access_key_id" in err.message
    assert_no_secrets(err)


@pytest.mark.parametrize("operation", ["HeadBucket", "PutObject", "ListObjectsV2"])
def test_no_such_bucket(operation: str) -> None:
    exc = client_error(
        operation, 404, "NoSuchBucket", "The specified bucket does not exist", BucketName=BUCKET
    )
    err = translate(exc, operation=operation, bucket=BUCKET, key="meetstream/a.mp3")
    assert err.s3_error == "NoSuchBucket"
    assert err.transient is False
    assert f"Bucket '{BUCKET}' does not exist" in err.message
    assert "bucket_name" in err.message


@pytest.mark.parametrize(
    ("key", "resource"),
    [
        ("prefix/.write_probe_1f2e3d", f"arn:aws:s3:::{BUCKET}/prefix/*"),
        ("recordings/audio/.write_probe_1f2e3d", f"arn:aws:s3:::{BUCKET}/recordings/audio/*"),
        (".write_probe_1f2e3d", f"arn:aws:s3:::{BUCKET}/*"),
        (
            "meetstream/3f2b8c1e-9a47-4d6b-b1f0-5c2e7a9d4e10_audio.mp3",
            f"arn:aws:s3:::{BUCKET}/meetstream/*",
        ),
        # Collection members: the resource is the configured prefix, not the bot's sub-folder.
        (
            "meetstream/3f2b8c1e-9a47-4d6b-b1f0-5c2e7a9d4e10_screenshots/00001.png",
            f"arn:aws:s3:::{BUCKET}/meetstream/*",
        ),
        (
            "rec/video/3f2b8c1e-9a47-4d6b-b1f0-5c2e7a9d4e10_audio_streams/alice_1.webm",
            f"arn:aws:s3:::{BUCKET}/rec/video/*",
        ),
        (
            "3f2b8c1e-9a47-4d6b-b1f0-5c2e7a9d4e10_transcription/deepgram/"
            "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d/raw.json",
            f"arn:aws:s3:::{BUCKET}/*",
        ),
    ],
)
def test_access_denied_on_put_names_the_missing_permission(key: str, resource: str) -> None:
    exc = client_error("PutObject", 403, "AccessDenied", "Access Denied")
    err = translate(exc, operation="PutObject", bucket=BUCKET, key=key)
    assert err.s3_error == "AccessDenied"
    assert err.operation == "PutObject" and err.key == key
    assert err.transient is False
    assert f"s3:PutObject on {resource}" in err.message
    assert err.message.endswith(f"s3:PutObject on {resource}.")


def test_access_denied_message_with_the_principal_arn_leaks_nothing() -> None:
    exc = client_error(
        "PutObject",
        403,
        "AccessDenied",
        f"User: arn:aws:iam::123456789012:user/uploader ({ACCESS_KEY}) is not authorized",
    )
    err = translate(exc, operation="PutObject", bucket=BUCKET, key="prefix/x")
    assert "123456789012" not in err.message
    assert_no_secrets(err)


def test_bare_403_on_head_bucket() -> None:
    exc = client_error("HeadBucket", 403, "403", "Forbidden")
    err = translate(exc, operation="HeadBucket", bucket=BUCKET, region="us-east-1")
    assert err.s3_error == "AccessDenied"
    assert err.transient is False
    assert f"s3:ListBucket on arn:aws:s3:::{BUCKET}" in err.message
    assert "write_only" in err.message


def test_bare_404_on_head_bucket() -> None:
    exc = client_error("HeadBucket", 404, "404", "Not Found")
    err = translate(exc, operation="HeadBucket", bucket=BUCKET)
    assert err.s3_error == "NoSuchBucket"
    assert f"Bucket '{BUCKET}' does not exist" in err.message


def test_bare_404_on_head_object() -> None:
    exc = client_error("HeadObject", 404, "404", "Not Found")
    err = translate(exc, operation="HeadObject", bucket=BUCKET, key="meetstream/x.json")
    assert err.s3_error == "NoSuchKey"


def test_error_without_code_uses_the_status() -> None:
    exc = client_error("HeadBucket", 403)
    err = translate(exc, operation="HeadBucket", bucket=BUCKET)
    assert err.s3_error == "AccessDenied"


def test_permanent_redirect_with_bucket_region_header() -> None:
    exc = client_error(
        "PutObject",
        301,
        "PermanentRedirect",
        "The bucket you are attempting to access must be addressed using the specified endpoint.",
        headers={"x-amz-bucket-region": "eu-west-1"},
        Endpoint=f"{BUCKET}.s3.eu-west-1.amazonaws.com",
        Bucket=BUCKET,
    )
    err = translate(exc, operation="PutObject", bucket=BUCKET, key="p/x", region="us-east-1")
    assert err.s3_error == "PermanentRedirect"
    assert err.transient is False
    assert "region 'eu-west-1'" in err.message
    assert "not 'us-east-1'" in err.message
    assert "set region to the bucket's region" in err.message


def test_bare_301_on_head_bucket() -> None:
    exc = client_error(
        "HeadBucket", 301, "301", "Moved Permanently", headers={"x-amz-bucket-region": "ap-south-1"}
    )
    err = translate(exc, operation="HeadBucket", bucket=BUCKET, region="us-east-1")
    assert err.s3_error == "PermanentRedirect"
    assert "region 'ap-south-1'" in err.message
    assert "set region to the bucket's region" in err.message


def test_authorization_header_malformed_with_region_field() -> None:
    exc = client_error(
        "HeadBucket",
        400,
        "AuthorizationHeaderMalformed",
        "The authorization header is malformed; the region 'us-east-1' is wrong; expecting 'eu-central-1'",
        Region="eu-central-1",
        RequestId="abc",
    )
    err = translate(exc, operation="HeadBucket", bucket=BUCKET, region="us-east-1")
    assert err.s3_error == "AuthorizationHeaderMalformed"
    assert err.transient is False
    assert "region 'eu-central-1'" in err.message
    assert "not 'us-east-1'" in err.message
    assert "set region to the bucket's region" in err.message


def test_bare_400_on_head_bucket_with_another_region() -> None:
    exc = client_error("HeadBucket", 400, "400", "Bad Request", headers={"x-amz-bucket-region": "eu-west-2"})
    err = translate(exc, operation="HeadBucket", bucket=BUCKET, region="us-east-1")
    assert err.s3_error == "AuthorizationHeaderMalformed"
    assert "region 'eu-west-2'" in err.message
    assert "set region to the bucket's region" in err.message


def test_bare_400_in_the_right_region_is_not_a_region_problem() -> None:
    exc = client_error("HeadBucket", 400, "400", "Bad Request", headers={"x-amz-bucket-region": "us-east-1"})
    err = translate(exc, operation="HeadBucket", bucket=BUCKET, region="us-east-1")
    assert err.s3_error == "BadRequest"
    assert "region" not in err.message


@pytest.mark.parametrize(
    ("status", "code"),
    [(503, "SlowDown"), (500, "InternalError"), (503, "ServiceUnavailable"), (400, "RequestTimeout")],
)
def test_transient_codes(status: int, code: str) -> None:
    exc = client_error("PutObject", status, code, "Please reduce your request rate.")
    err = translate(exc, operation="PutObject", bucket=BUCKET, key="p/x")
    assert err.s3_error == code
    assert err.transient is True
    assert err.http_status == status
    assert "retries" in err.message


def test_unknown_5xx_is_transient() -> None:
    exc = client_error("PutObject", 502, "BadGateway", "bad gateway")
    err = translate(exc, operation="PutObject", bucket=BUCKET, key="p/x")
    assert err.s3_error == "BadGateway"
    assert err.transient is True


def test_endpoint_connection_error_is_unreachable_and_transient() -> None:
    exc = EndpointConnectionError(endpoint_url=f"https://{BUCKET}.s3.us-east-1.amazonaws.com/")
    err = translate(exc, operation="HeadBucket", bucket=BUCKET, region="us-east-1")
    assert err.s3_error == "EndpointUnreachable"
    assert err.transient is True
    assert err.http_status is None
    assert "endpoint_url" in err.message


@pytest.mark.parametrize(
    "exc",
    [
        ConnectTimeoutError(endpoint_url="https://s3.example.com"),
        ReadTimeoutError(endpoint_url="https://s3.example.com"),
    ],
)
def test_timeouts_are_unreachable_and_transient(exc: Exception) -> None:
    err = translate(exc, operation="PutObject", bucket=BUCKET, key="p/x")
    assert err.s3_error == "EndpointUnreachable"
    assert err.transient is True


def test_plain_os_error_is_transient() -> None:
    err = translate(ConnectionResetError("reset"), operation="PutObject", bucket=BUCKET, key="p/x")
    assert err.s3_error == "ConnectionError"
    assert err.transient is True


def test_unknown_exception_is_permanent() -> None:
    err = translate(RuntimeError(f"boom {ACCESS_KEY}"), operation="PutObject", bucket=BUCKET, key="p/x")
    assert err.s3_error == "Unknown"
    assert err.transient is False
    assert_no_secrets(err)


@pytest.mark.parametrize(
    "code",
    [
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "AccessDenied",
        "NoSuchBucket",
        "PermanentRedirect",
        "AuthorizationHeaderMalformed",
        "SlowDown",
        "SomethingNew",
    ],
)
def test_messages_never_echo_the_error_body(code: str) -> None:
    exc = client_error(
        "PutObject",
        403,
        code,
        f"Message with {ACCESS_KEY} and {SECRET_KEY}",
        AWSAccessKeyId=ACCESS_KEY,
        StringToSign=SECRET_KEY,
        headers={"x-amz-id-2": ACCESS_KEY},
    )
    err = translate(exc, operation="PutObject", bucket=BUCKET, key="p/x", region="us-east-1")
    assert err.s3_error == code
    assert_no_secrets(err)
