"""Identifiers and page cursors: the one bot-id parser and the one opaque cursor codec.

A bot (or transcript) id is a UUID; any spelling `uuid.UUID` accepts is the same id, and the
canonical form is the lower-case hyphenated one every row and key uses. A malformed id is simply an
unknown one: callers answer it exactly like a bot that does not exist.

A cursor is base64url (no padding) of a JSON array of the fields of the row a page continues
after, each of a fixed type (a cursor of one endpoint is garbage to another when the fields
differ; an endpoint may lead with a fixed tag to make sure). Clients treat it as opaque; a cursor
that is not one of ours is `InvalidCursor`.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid


class InvalidCursor(ValueError):
    """A cursor this codec did not write (or one of another endpoint)."""


def canonical_id(raw: object) -> str | None:
    """The canonical form of a UUID id, or None when `raw` is not one."""
    try:
        return str(uuid.UUID(str(raw))) if isinstance(raw, str) else None
    except ValueError:
        return None


def encode_cursor(*fields: str | int) -> str:
    raw = json.dumps(list(fields), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, *types: type[str] | type[int]) -> tuple[str | int, ...]:
    """The fields of a cursor, checked against `types` (one per field); InvalidCursor otherwise."""
    try:
        doc = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, binascii.Error, UnicodeDecodeError, TypeError) as exc:
        raise InvalidCursor("not a cursor") from exc
    if not isinstance(doc, list) or len(doc) != len(types):
        raise InvalidCursor("not a cursor of this endpoint")
    for value, kind in zip(doc, types, strict=True):
        if type(value) is not kind:  # not isinstance: True is an int, and no cursor holds a bool
            raise InvalidCursor("a cursor field has the wrong type")
    return tuple(doc)
