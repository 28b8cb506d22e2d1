"""Webhook events as rows of the delivery outbox, written in the caller's transaction.

Call `emit` inside the same transaction as the state change that causes the event, so
no event is lost between a commit and an enqueue. Delivery is the webhook worker's job.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from meetstore.domain.clock import rfc3339
from meetstore.domain.records import BotRecord, WebhookEventRecord
from meetstore.domain.repositories import Transaction

EVENTS = (
    "bot.scheduled",
    "bot.joining",
    "bot.in_waiting_room",
    "bot.inmeeting",
    "bot.recording",
    "bot.leaving",
    "bot.kicked",
    "bot.denied",
    "bot.notallowed",
    "bot.failed",
    "bot.stopped",
    "audio.processed",
    "video.processed",
    "transcription.processed",
    "bot.done",
    "storage.upload_failed",
    "storage.unhealthy",
    "data_deletion",
)
FAILURE_EVENTS = frozenset({"bot.failed", "bot.denied", "bot.notallowed"})
"""MeetStream's lifecycle events that report a failure: `status_code` 500 (the SDK reads it)."""


def payload(
    bot: BotRecord | None,
    event: str,
    *,
    message: str,
    status_code: int = 200,
    now: datetime,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        # MeetStream documents both spellings of the event's name; receivers read either.
        "event": event,
        "bot_event": event,
        "bot_id": bot.id if bot else None,
        "bot_status": bot.status if bot else None,
        "message": message,
        "status_code": 500 if event in FAILURE_EVENTS else status_code,
        "custom_attributes": (bot.options or {}).get("custom_attributes") if bot else None,
        "timestamp": rfc3339(now),
    }
    body.update(extra or {})
    return body


def emit(
    tx: Transaction,
    bot: BotRecord,
    event: str,
    *,
    message: str,
    status_code: int = 200,
    extra: dict[str, Any] | None = None,
    now: datetime | None = None,
) -> WebhookEventRecord | None:
    """Queue `event` for `bot`'s callback_url (nothing when the bot has none)."""
    if event not in EVENTS:
        raise ValueError(f"unknown event {event}")
    if not bot.callback_url:
        return None
    at = now or datetime.now(UTC)
    body = json.dumps(
        payload(bot, event, message=message, status_code=status_code, now=at, extra=extra),
        separators=(",", ":"),
        sort_keys=False,
    )
    return tx.webhook_events.add(
        account_id=bot.account_id, bot_id=bot.id, event=event, callback_url=bot.callback_url, body=body, now=at
    )
