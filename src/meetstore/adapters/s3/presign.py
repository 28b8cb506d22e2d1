"""Presigned GET URLs for one bucket: botocore's SigV4 query signer on a URL whose shape botocore
chose once for the bucket.

Why not `generate_presigned_url` on every fetch: each call resolves the endpoint ruleset again and
serialises the operation before signing, ~180 us of CPU of which the signature is ~70, when all
that varies between two URLs of one bucket is the key, the time and the expiry. The shape (the URL
up to the key, the signing region and service, and the Host header SigV4 signs) is taken from one
URL `generate_presigned_url` signs when the presigner is built, and that URL is signed again
through the shape: only if the two are the same bytes does the presigner sign through the shape.
Otherwise (a configuration whose URLs have a shape this module does not know) every URL stays
`generate_presigned_url`'s. The request handed to the signer carries its Host header because the
signer otherwise parses the URL twice per signature to find it (a quarter of its CPU).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest

log = logging.getLogger(__name__)

ALGORITHM = "AWS4-HMAC-SHA256"
PROBE_KEY = "meetstore/presign-probe"
PROBE_EXPIRES_S = 60
PROBE_TRIES = 3
"""Signing the probe twice must fall within one second of the clock (X-Amz-Date); a tick between
the two is retried."""


def quote_key(key: str) -> str:
    """An object key in the URL path, as botocore writes it: S3 keys keep their slashes."""
    return quote(key, safe="/~")


DEFAULT_PORTS = {"http": 80, "https": 443}


def host_of(url: str) -> str:
    """The Host header a request to `url` signs: the host name in lower case (an IPv6 address in
    brackets) and the port unless it is the scheme's default."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None and parts.port != DEFAULT_PORTS.get(parts.scheme):
        host = f"{host}:{parts.port}"
    return host


@dataclass(frozen=True, slots=True)
class UrlShape:
    """What botocore decided for a bucket: the URL up to the key, its Host header, and the signing
    scope's region and service."""

    base: str
    host: str
    region: str
    service: str


def shape_of(url: str, key: str) -> UrlShape | None:
    """The shape of a presigned GET URL of `key`; None when it is not a SigV4 one signing `host`."""
    head, _, query = url.partition("?")
    encoded = quote_key(key)
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
    return UrlShape(base=base, host=host_of(base), region=scope[2], service=scope[3])


def date_of(url: str) -> str:
    return dict(parse_qsl(url.partition("?")[2])).get("X-Amz-Date", "")


class Presigner:
    """Presigned GETs of one bucket through one client (`S3Bucket.presign_get`).

    `credentials`: the client's, as botocore holds them (`botocore.credentials.Credentials`, or a
    refreshing one from the session's chain); None: `generate_presigned_url` signs every URL."""

    __slots__ = ("_bucket", "_client", "_credentials", "_shape")

    def __init__(self, client: Any, bucket: str, credentials: Any | None) -> None:
        self._client = client
        self._bucket = bucket
        self._credentials: Any = credentials
        self._shape = None if credentials is None else self._learn()

    def __repr__(self) -> str:
        return f"Presigner(bucket={self._bucket!r}, through_shape={self._shape is not None})"

    @property
    def through_shape(self) -> bool:
        """Whether URLs are signed through the bucket's shape (False: `generate_presigned_url`)."""
        return self._shape is not None

    def url(self, key: str, expires_in: int) -> str:
        if self._shape is None:
            return self._generated(key, expires_in)
        return self._signed(self._shape, key, expires_in)

    def _generated(self, key: str, expires_in: int) -> str:
        url: str = self._client.generate_presigned_url(
            "get_object", Params={"Bucket": self._bucket, "Key": key}, ExpiresIn=expires_in
        )
        return url

    def _signed(self, shape: UrlShape, key: str, expires_in: int) -> str:
        request = AWSRequest(method="GET", url=shape.base + quote_key(key), headers={"host": shape.host})
        S3SigV4QueryAuth(
            self._credentials.get_frozen_credentials(), shape.service, shape.region, expires=expires_in
        ).add_auth(request)
        url: str = request.url
        return url

    def _learn(self) -> UrlShape | None:
        """The bucket's URL shape, if signing through it gives the bytes `generate_presigned_url`
        gives."""
        try:
            for _ in range(PROBE_TRIES):
                probe = self._generated(PROBE_KEY, PROBE_EXPIRES_S)
                shape = shape_of(probe, PROBE_KEY)
                if shape is None:
                    break
                again = self._signed(shape, PROBE_KEY, PROBE_EXPIRES_S)
                if date_of(again) == date_of(probe):
                    if again == probe:
                        return shape
                    break
        except Exception as exc:  # no credentials after all: every call will say so, as before
            log.warning("presigned URLs of bucket %s are generated per call (%s)", self._bucket, type(exc).__name__)
            return None
        log.warning("presigned URLs of bucket %s are generated per call: their shape is not one signed here", self._bucket)
        return None
