"""Storage configuration rules: access modes, categories, prefix normalisation, bucket names."""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum


class AccessMode(StrEnum):
    READ_WRITE = "read_write"
    WRITE_ONLY = "write_only"


class Category(StrEnum):
    AUDIO = "audio"
    VIDEO = "video"
    TRANSCRIPT = "transcript"
    METADATA = "metadata"


DEFAULT_PREFIX = "meetstream"
MAX_PREFIX_BYTES = 512
_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_REGION_RE = re.compile(r"^[a-z]{2}(-[a-z0-9]+)+-\d+$")


class PrefixError(ValueError):
    """A prefix that can never be a safe key prefix."""


def normalise_prefix(raw: str) -> str:
    """Strip leading/trailing '/', collapse repeated '/'; refuse unsafe prefixes.

    Refused: a '.' or '..' segment, a backslash, a control character, more than 512 bytes.
    `""` (the bucket root) is allowed.
    """
    try:
        encoded = raw.encode("utf-8")
    except UnicodeEncodeError:
        raise PrefixError("must be valid Unicode text (no lone surrogates)") from None
    if len(encoded) > MAX_PREFIX_BYTES:
        raise PrefixError(f"must be at most {MAX_PREFIX_BYTES} bytes")
    if "\\" in raw:
        raise PrefixError("must not contain a backslash")
    # Unicode category Cc: C0 controls, DEL and the C1 controls (U+0080-U+009F, e.g. NEL U+0085).
    if any(unicodedata.category(ch) == "Cc" for ch in raw):
        raise PrefixError("must not contain control characters")
    segments = [s for s in raw.split("/") if s != ""]
    for segment in segments:
        if segment in (".", ".."):
            raise PrefixError("must not contain '.' or '..' segments")
    return "/".join(segments)


def bucket_name_problem(name: str) -> str | None:
    """Why `name` breaks S3's bucket naming rules, or None when it is valid."""
    if not 3 <= len(name) <= 63:
        return "must be 3 to 63 characters long"
    if not _BUCKET_RE.fullmatch(name):  # fullmatch: `$` alone lets "name\n" through
        return (
            "may contain only lower-case letters, digits, '.' and '-', and must begin and end "
            "with a letter or digit"
        )
    if ".." in name or ".-" in name or "-." in name:
        return "must not contain '..', '.-' or '-.'"
    try:
        ipaddress.IPv4Address(name)
    except ValueError:
        pass
    else:
        return "must not be formatted as an IP address"
    for bad_prefix in ("xn--", "sthree-", "amzn-s3-demo-"):
        if name.startswith(bad_prefix):
            return f"must not start with '{bad_prefix}'"
    for bad_suffix in ("-s3alias", "--ol-s3", "--x-s3", "--table-s3", ".mrap"):
        if name.endswith(bad_suffix):
            return f"must not end with '{bad_suffix}'"
    return None


def region_problem(region: str) -> str | None:
    if not _REGION_RE.fullmatch(region):
        return "must be an AWS region name such as 'us-east-1'"
    return None


@dataclass(frozen=True)
class CategoryPrefixes:
    """The effective prefix of every category (already normalised)."""

    audio: str
    video: str
    transcript: str
    metadata: str

    def for_category(self, category: Category) -> str:
        value: str = getattr(self, category.value)
        return value

    def as_dict(self) -> dict[str, str]:
        return {c.value: self.for_category(c) for c in Category}

    def distinct(self, base: str) -> list[str]:
        """The base prefix and every distinct category prefix, base first, order stable."""
        seen: list[str] = [base]
        for category in Category:
            p = self.for_category(category)
            if p not in seen:
                seen.append(p)
        return seen


def effective_prefixes(base: str, overrides: dict[Category, str]) -> CategoryPrefixes:
    """Every category's prefix: its override when set, else the base prefix."""
    return CategoryPrefixes(**{c.value: overrides.get(c, base) for c in Category})


def probe_key(prefix: str, token: str) -> str:
    """The key of a write_only validation probe under `prefix`."""
    name = f".write_probe_{token}"
    return f"{prefix}/{name}" if prefix else name


def required_put_resource(bucket: str, prefix: str) -> str:
    """The IAM resource a policy must grant s3:PutObject on for objects under `prefix`."""
    return f"arn:aws:s3:::{bucket}/{prefix}/*" if prefix else f"arn:aws:s3:::{bucket}/*"


@dataclass(frozen=True)
class CurrentStorage:
    """The account's storage configuration in force now (None when there is none)."""

    bucket: str
    region: str
    endpoint_url: str | None
    access_mode: AccessMode
    version: int
