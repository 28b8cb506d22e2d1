"""Presigned GET URLs for one bucket, signed here: AWS Signature Version 4 with query parameters
(https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html).

Why not botocore's `generate_presigned_url` on every fetch: each call resolves the endpoint
ruleset, serialises the operation and builds and signs a request, ~180 us of CPU, when all that
varies between two URLs of one bucket is the key, the time and the expiry. What botocore decides
(scheme, host, addressing style, signing region and service, the session token) is taken once,
from a URL it signs for the bucket when the presigner is built. That URL is then signed again here
at botocore's own timestamp; only if the two match byte for byte does this presigner sign alone.
Otherwise (a configuration this module does not know) every URL stays botocore's.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

log = logging.getLogger(__name__)

ALGORITHM = "AWS4-HMAC-SHA256"
PROBE_KEY = "meetstore/presign-probe"
PROBE_EXPIRES_S = 60
DEFAULT_PORTS = {"http": 80, "https": 443}


def _quote(value: str) -> str:
    return quote(value, safe="-_.~")


def _quote_key(key: str) -> str:
    """An object key in the URL path: S3 keys keep their slashes (botocore's `{Key+}` label)."""
    return quote(key, safe="/~")


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


@dataclass(frozen=True, slots=True)
class UrlShape:
    """What botocore decided for a bucket: the URL up to the key, its path (the canonical URI's
    start), the signed Host, and the signing scope's region and service."""

    base: str
    path: str
    host: str
    region: str
    service: str


def shape_of(url: str, key: str) -> UrlShape | None:
    """The shape of a presigned GET URL of `key`; None when it is not one this module signs."""
    head, _, query = url.partition("?")
    encoded = _quote_key(key)
    params = dict(parse_qsl(query, keep_blank_values=True))
    scope = params.get("X-Amz-Credential", "").split("/")
    if (
        not head.endswith(encoded)
        or params.get("X-Amz-Algorithm") != ALGORITHM
        or params.get("X-Amz-SignedHeaders") != "host"
        or len(scope) != 5
        or scope[4] != "aws4_request"
    ):
        return None
    base = head[: -len(encoded)]
    parts = urlsplit(base)
    host = parts.netloc
    if parts.port is not None and parts.port == DEFAULT_PORTS.get(parts.scheme):
        host = host.rsplit(":", 1)[0]
    return UrlShape(base=base, path=parts.path, host=host, region=scope[2], service=scope[3])


def sign(
    shape: UrlShape,
    key: str,
    expires_in: int,
    amz_date: str,
    *,
    access_key: str,
    signing_key: bytes,
    token: str | None,
) -> str:
    """A presigned GET of `key` at `amz_date` (YYYYMMDDTHHMMSSZ), with the query parameters in
    the order botocore writes them; the canonical request sorts them, as SigV4 requires."""
    scope = f"{amz_date[:8]}/{shape.region}/{shape.service}/aws4_request"
    params = [
        ("X-Amz-Algorithm", ALGORITHM),
        ("X-Amz-Credential", f"{access_key}/{scope}"),
        ("X-Amz-Date", amz_date),
        ("X-Amz-Expires", str(expires_in)),
        ("X-Amz-SignedHeaders", "host"),
    ]
    if token:
        params.append(("X-Amz-Security-Token", token))
    encoded = [(k, _quote(v)) for k, v in params]
    path = _quote_key(key)
    canonical = "\n".join(
        (
            "GET",
            shape.path + path,
            "&".join(f"{k}={v}" for k, v in sorted(encoded)),
            f"host:{shape.host}\n",
            "host",
            "UNSIGNED-PAYLOAD",
        )
    )
    to_sign = "\n".join((ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()))
    signature = hmac.new(signing_key, to_sign.encode(), hashlib.sha256).hexdigest()
    query = "&".join(f"{k}={v}" for k, v in encoded)
    return f"{shape.base}{path}?{query}&X-Amz-Signature={signature}"


def signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    """SigV4's derived key for one day, region and service."""
    k = _hmac(f"AWS4{secret_key}".encode(), date)
    return _hmac(_hmac(_hmac(k, region), service), "aws4_request")


class Presigner:
    """Presigned GETs of one bucket through one client (`S3Bucket.presign_get`).

    `credentials`: the client's, as botocore holds them (`botocore.credentials.Credentials`, or a
    refreshing one from the session's chain); None signs every URL with botocore."""

    __slots__ = ("_bucket", "_client", "_credentials", "_derived", "_shape")

    def __init__(self, client: Any, bucket: str, credentials: Any | None) -> None:
        self._client = client
        self._bucket = bucket
        self._credentials: Any = credentials
        self._derived: tuple[str, str, bytes] | None = None  # (date, secret, key) of the last URL
        self._shape = None if credentials is None else self._learn()

    def __repr__(self) -> str:
        return f"Presigner(bucket={self._bucket!r}, local={self._shape is not None})"

    @property
    def local(self) -> bool:
        """Whether URLs are signed here (False: botocore signs every one)."""
        return self._shape is not None

    def url(self, key: str, expires_in: int) -> str:
        if self._shape is None:
            return self._botocore(key, expires_in)
        return self._sign(self._shape, key, expires_in, time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))

    def _botocore(self, key: str, expires_in: int) -> str:
        url: str = self._client.generate_presigned_url(
            "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=expires_in
        )
        return url

    def _sign(self, shape: UrlShape, key: str, expires_in: int, amz_date: str) -> str:
        creds = self._credentials.get_frozen_credentials()
        date = amz_date[:8]
        derived = self._derived
        if derived is None or derived[0] != date or derived[1] != creds.secret_key:
            derived = (date, creds.secret_key, signing_key(creds.secret_key, date, shape.region, shape.service))
            self._derived = derived
        return sign(
            shape,
            key,
            expires_in,
            amz_date,
            access_key=creds.access_key,
            signing_key=derived[2],
            token=creds.token,
        )

    def _learn(self) -> UrlShape | None:
        """The bucket's URL shape from one URL botocore signs, if signing it again here gives the
        same bytes."""
        try:
            probe = self._botocore(PROBE_KEY, PROBE_EXPIRES_S)
        except Exception as exc:  # no credentials after all: every call will say so, as before
            log.warning("presigned URLs of bucket %s are signed by botocore (%s)", self._bucket, type(exc).__name__)
            return None
        shape = shape_of(probe, PROBE_KEY)
        amz_date = dict(parse_qsl(probe.partition("?")[2])).get("X-Amz-Date", "")
        if shape is not None and self._sign(shape, PROBE_KEY, PROBE_EXPIRES_S, amz_date) == probe:
            return shape
        log.warning(
            "presigned URLs of bucket %s are not signed locally: botocore's differ in shape", self._bucket
        )
        return None
