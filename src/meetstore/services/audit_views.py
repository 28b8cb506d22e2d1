"""Reading the audit trail: a page for `GET /api/v1/audit`, every entry for `meetstore audit
export`, and the age-out of entries past `MEETSTORE_AUDIT_RETENTION_DAYS`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from meetstore.config import Settings
from meetstore.domain.audit import ACTIONS
from meetstore.domain.clock import SystemClock, rfc3339
from meetstore.domain.ids import InvalidCursor, canonical_id, decode_cursor, encode_cursor
from meetstore.domain.records import AuditEventRecord
from meetstore.domain.repositories import Transactions
from meetstore.errors import InvalidRequest, NotFound

CURSOR_TAG = "audit"
DEFAULT_LIMIT = 50
MAX_LIMIT = 500
EXPORT_BATCH = 1000


@dataclass(frozen=True, slots=True)
class AuditPage:
    events: tuple[dict[str, Any], ...]
    next_cursor: str | None


def event_of(row: AuditEventRecord) -> dict[str, Any]:
    """An entry as the API and the export show it (the hashes let a reader check the chain)."""
    out: dict[str, Any] = {
        "id": str(row.id),
        "at": rfc3339(row.at),
        "action": row.action,
        "actor": dict(row.actor),
        "detail": row.detail,
        "prev_hash": row.prev_hash,
        "hash": row.hash,
    }
    if row.bot_id is not None:
        out["bot_id"] = row.bot_id
    return out


def _bad(field: str, message: str, sentence: str) -> InvalidRequest:
    return InvalidRequest(sentence, [{"field": field, "message": message}])


class AuditViews:
    def __init__(self, tx: Transactions, settings: Settings, clock: SystemClock | None = None) -> None:
        self._tx = tx
        self._settings = settings
        self._clock = clock or SystemClock()

    def page(
        self,
        account_id: str,
        *,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
        bot_id: str | None = None,
        action: str | None = None,
    ) -> AuditPage:
        if not 1 <= limit <= MAX_LIMIT:
            raise _bad(
                "limit", f"must be between 1 and {MAX_LIMIT}", f"limit must be between 1 and {MAX_LIMIT}."
            )
        if action is not None and action not in ACTIONS:
            raise _bad("action", "not an audit action", f"action must be one of: {', '.join(ACTIONS)}.")
        bid = None
        if bot_id is not None:
            bid = canonical_id(bot_id)
            if bid is None:
                raise _bad("bot_id", "not a bot id", "bot_id must be a bot's id (a UUID).")
        before = self._before(cursor) if cursor else None
        with self._tx.read() as tx:
            rows = tx.audit.page(account_id, before_id=before, limit=limit + 1, bot_id=bid, action=action)
            events = tuple(event_of(r) for r in rows[:limit])
            more = len(rows) > limit
            last = rows[limit - 1].id if more else None
        return AuditPage(events, encode_cursor(CURSOR_TAG, last) if last is not None else None)

    @staticmethod
    def _before(cursor: str) -> int:
        try:
            tag, before = decode_cursor(cursor, str, int)
        except InvalidCursor:
            tag, before = "", -1
        if tag != CURSOR_TAG or not isinstance(before, int) or before < 1:
            raise _bad(
                "cursor",
                "not a cursor returned by this endpoint",
                "Invalid cursor: pass the next_cursor of a previous page unchanged.",
            )
        return before

    def export(self, account_id: str, since: datetime | None) -> Iterator[dict[str, Any]]:
        """Every entry of the account from `since`, oldest first, read in batches; NotFound for
        an unknown account (before anything is yielded)."""
        with self._tx.read() as tx:
            if tx.accounts.get(account_id) is None:
                raise NotFound(f"No account {account_id!r}.")
        return self._entries(account_id, since)

    def _entries(self, account_id: str, since: datetime | None) -> Iterator[dict[str, Any]]:
        after = 0
        while True:
            with self._tx.read() as tx:
                rows = tx.audit.since(account_id, since, after_id=after, limit=EXPORT_BATCH)
                batch = [event_of(r) for r in rows]
                after = rows[-1].id if rows else after
            yield from batch
            if len(batch) < EXPORT_BATCH:
                return

    def expire(self) -> int:
        """Drop entries older than the audit retention."""
        cutoff = self._clock.now() - timedelta(days=self._settings.audit_retention_days)
        with self._tx.write() as tx:
            return tx.audit.drop_older_than(cutoff)
