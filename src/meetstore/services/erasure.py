"""Erasure requests (API.md "Data lifecycle"): `DELETE /bots/{id}/delete` and the retention sweep.

A request is one transaction: the bot is marked erased (from then on every fetch answers
media_deleted / media_expired), every artifact is fenced (`mark_erased`: no upload can mark it
uploaded afterwards), and an erasure row is queued in the erasure outbox, where a worker does
the deleting (services/erasure_work.py). The caller waits up to `erasure_wait_s` for the receipt.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from meetstore.config import Settings
from meetstore.domain.artifacts import LIVE_STATUSES, BotStatus, UploadState, apply, mark_erased, progress_of
from meetstore.domain.clock import SystemClock
from meetstore.domain.erasure import ErasureReason, ErasureScope, ErasureState, still_to_do, stored
from meetstore.domain.erasure import progress_of as erasure_progress
from meetstore.domain.ids import canonical_id
from meetstore.domain.ports import Clock
from meetstore.domain.records import BotRecord
from meetstore.domain.repositories import Transaction, Transactions
from meetstore.errors import BotInMeeting, InvalidRequest
from meetstore.services.audit import ACTOR
from meetstore.services.bots import not_found
from meetstore.services.changes import ERASURE

POLL_S = 0.05


@dataclass(frozen=True, slots=True)
class ErasureAnswer:
    """A delete request's answer: the receipt, or None while the erasure is still running."""

    bot_id: str
    receipt: dict[str, Any] | None


def parse_scope(raw: str | None) -> ErasureScope:
    try:
        return ErasureScope(raw or ErasureScope.ALL.value)
    except ValueError:
        raise InvalidRequest(
            "scope must be 'all' (the default) or 'platform' (leave your bucket untouched).",
            [{"field": "scope", "message": "must be 'all' or 'platform'"}],
        ) from None


class ErasureService:
    def __init__(
        self,
        tx: Transactions,
        settings: Settings,
        *,
        clock: Clock | None = None,
        on_requested: Callable[[str], None] | None = None,
    ) -> None:
        self._tx = tx
        self._settings = settings
        self._clock: Clock = clock or SystemClock()
        self._on_requested = on_requested
        """Told the account id of every erasure requested here (this process's fetch cache)."""

    def erase(self, account_id: str, bot_id: str, scope: str | None = None) -> ErasureAnswer:
        """Erase the bot's media and meeting data; the receipt when it is done within
        `erasure_wait_s`, else None (the receipt arrives in detail and the webhook)."""
        wanted = parse_scope(scope)
        bid = canonical_id(bot_id)
        if bid is None:
            raise not_found()
        with self._tx.write() as tx:
            bot = tx.bots.of_account(bid, account_id, lock=True)
            if bot is None:
                raise not_found()
            done = self._request(tx, bot, wanted, ErasureReason.REQUEST)
        if done is not None:
            return ErasureAnswer(bid, done)
        self._told(account_id)
        return ErasureAnswer(bid, self._wait(bid))

    def expire_due(self, limit: int = 100) -> int:
        """Erase the bots whose retention ran out (the lifecycle worker's sweep); how many."""
        now = self._clock.now()
        with self._tx.read() as tx:
            ids = tx.bots.retention_ended(now, limit)
        accounts: set[str] = set()
        for bot_id in ids:
            with self._tx.write() as tx:
                bot = tx.bots.get(bot_id, lock=True)
                if bot is None or bot.deletion_requested_at is not None:
                    continue
                self._request(tx, bot, ErasureScope.ALL, ErasureReason.RETENTION)
                accounts.add(bot.account_id)
        for account_id in accounts:
            self._told(account_id)
        return len(ids)

    def _request(
        self, tx: Transaction, bot: BotRecord, scope: ErasureScope, reason: ErasureReason
    ) -> dict[str, Any] | None:
        """Queue the erasure (the bot is locked); the receipt instead when there is nothing to
        do again (a finished `deleted` erasure answers its receipt)."""
        if BotStatus(bot.status) in LIVE_STATUSES:
            raise BotInMeeting(
                f"The bot is still in its meeting (status {bot.status}); remove it first "
                "(remove_bot), then delete its data once it has left."
            )
        latest = tx.erasures.latest_of_bot(bot.id)
        if latest is not None and latest.state == ErasureState.PENDING.value:
            return None  # already under way: wait for it
        if bot.deletion is not None and bot.deletion.get("status") == "deleted":
            return bot.deletion
        now = self._clock.now()
        if bot.deletion_requested_at is None:
            bot.deletion_requested_at = now
            bot.deletion_reason = reason.value
        for row in tx.artifacts.of_bot(bot.id):
            if row.state != UploadState.ERASED.value:
                apply(row, mark_erased(progress_of(row)))
        # A repeated partial erasure keeps what is final and tries the rest again.
        start = still_to_do(erasure_progress(latest.objects)) if latest is not None else {}
        tx.erasures.add(
            bot_id=bot.id,
            account_id=bot.account_id,
            reason=reason.value,
            scope=scope.value,
            objects=stored(start),
            requested_by=ACTOR.get().as_dict() if reason is ErasureReason.REQUEST else None,
            now=now,
        )
        tx.changes.record(bot.account_id, ERASURE, now)
        return None

    def _told(self, account_id: str) -> None:
        if self._on_requested is not None:
            self._on_requested(account_id)

    def _wait(self, bot_id: str) -> dict[str, Any] | None:
        deadline = time.monotonic() + self._settings.erasure_wait_s
        while True:
            with self._tx.read() as tx:
                latest = tx.erasures.latest_of_bot(bot_id)
                bot = tx.bots.get(bot_id)
                if latest is not None and latest.state == ErasureState.DONE.value and bot is not None:
                    return bot.deletion
            if time.monotonic() + POLL_S > deadline:
                return None
            time.sleep(POLL_S)
