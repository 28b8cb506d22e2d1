"""Bots: create (with Idempotency-Key), list, status, detail, remove.

A bot of another account is indistinguishable from one that does not exist (BotNotFound), and so
is a bot id that is not a UUID at all.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from meetstore.adapters.net_guard import check_url_allowed
from meetstore.config import Settings
from meetstore.domain.artifacts import LIVE_STATUSES, BotStatus
from meetstore.domain.bot_status import move_to
from meetstore.domain.clock import SystemClock, rfc3339
from meetstore.domain.erasure import ErasureState
from meetstore.domain.ids import canonical_id, decode_cursor, encode_cursor
from meetstore.domain.live_controls import is_paused
from meetstore.domain.records import BotRecord
from meetstore.domain.repositories import DuplicateIdempotencyKey, NewBot, Transaction, Transactions
from meetstore.errors import BotNotFound, InvalidRequest, RateLimited
from meetstore.services.bot_views import (
    BotDetail,
    BotPage,
    BotState,
    BotSummary,
    Lifecycle,
    MeetStreamDetails,
    NewBotView,
    Removal,
    Removed,
    StoredFile,
    WebhookDelivery,
    stored_location,
)
from meetstore.services.events import emit

log = logging.getLogger("meetstore.bots")

DEFAULT_TRANSCRIPT_PROVIDER = "meetstream"
DEFAULT_BOT_NAME = "Meeting Notetaker"
"""MeetStream's name for a bot created without `bot_name`."""
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
MAX_IDEMPOTENCY_KEY = 255
TOO_MANY_BOTS_RETRY_S = 30


@dataclass(frozen=True)
class CreateBotInput:
    """A validated create_bot body (schema checks done at the edge)."""

    meeting_link: str
    bot_name: str
    callback_url: str | None
    transcript_provider: str
    video_required: bool
    audio_separate_streams: bool
    simulated_duration_s: float | None
    everyone_left_timeout_s: float | None
    options: dict[str, Any]
    join_at: datetime | None = None
    """When to join (MeetStream's `join_at`); None or a past time: now."""


@dataclass(frozen=True)
class Created:
    """create_bot's answer: the new bot, and whether it is an Idempotency-Key replay (507)."""

    bot: NewBotView
    replay: bool


def parse_bot_id(raw: str) -> str:
    """The canonical (lower-case, hyphenated) form of a bot id; BotNotFound for a non-UUID."""
    bot_id = canonical_id(raw)
    if bot_id is None:
        raise not_found()
    return bot_id


def not_found() -> BotNotFound:
    """The one body for an unknown bot, a foreign bot and a malformed id."""
    return BotNotFound("No bot with this id exists in this account.")


def created_view(bot: BotRecord) -> NewBotView:
    """A new bot is joining (or scheduled to); an Idempotency-Key replay answers exactly this again."""
    first = BotStatus.SCHEDULED if bot.join_at is not None else BotStatus.JOINING
    return NewBotView(bot.id, bot.transcript_id, bot.meeting_link, first.value)


SUMMARY_OVERHEAD_BYTES = 512
"""About what a bot's summary takes in a page besides its custom_attributes."""


def _json_size(value: object) -> int:
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def _within_bytes(bots: list[BotRecord], max_bytes: int) -> list[BotRecord]:
    """The longest head of `bots` whose summaries fit in about `max_bytes` (at least one bot)."""
    total = 0
    for n, bot in enumerate(bots):
        total += SUMMARY_OVERHEAD_BYTES + _json_size((bot.options or {}).get("custom_attributes"))
        if total > max_bytes and n > 0:
            return bots[:n]
    return bots


def encode_page_cursor(created_at: datetime, bot_id: str) -> str:
    return encode_cursor(created_at.isoformat(), bot_id)


def decode_page_cursor(cursor: str) -> tuple[datetime, str]:
    """The (created_at, bot id) of the last bot of the previous page (bot lists of every kind)."""
    try:
        created_at_s, raw_id = decode_cursor(cursor, str, str)
        created_at = datetime.fromisoformat(str(created_at_s))
    except ValueError:  # InvalidCursor, or a time that is not one
        created_at, raw_id = None, None
    bot_id = canonical_id(raw_id)
    if created_at is None or created_at.tzinfo is None or bot_id is None:
        raise InvalidRequest(
            "The cursor is not valid; pass next_cursor from the previous page as it is.",
            [{"field": "cursor", "message": "not a cursor returned by this endpoint"}],
        )
    return created_at, bot_id


class BotService:
    def __init__(
        self,
        tx: Transactions,
        settings: Settings,
        clock: SystemClock | None = None,
    ) -> None:
        self._tx = tx
        self._settings = settings
        self._clock = clock or SystemClock()

    # --- create -------------------------------------------------------------------------------
    def create(self, account_id: str, data: CreateBotInput, idempotency_key: str | None = None) -> Created:
        key = self._check_idempotency_key(idempotency_key)
        self._check_custom_attributes(data.options.get("custom_attributes"))
        if key is not None:
            replay = self._replay(account_id, key)
            if replay is not None:
                return replay
        if data.callback_url:
            check_url_allowed(
                data.callback_url, "callback_url", allow_private=self._settings.allow_private_endpoints
            )
        now = self._clock.now()
        runtime = self._settings.bot_runtime
        scheduled = data.join_at is not None and data.join_at > now
        status = BotStatus.SCHEDULED if scheduled else BotStatus.JOINING
        try:
            with self._tx.write() as tx:
                self._check_live_bots(tx, account_id)
                bot = tx.bots.add(
                    NewBot(
                        id=str(uuid.uuid4()),
                        account_id=account_id,
                        transcript_id=str(uuid.uuid4()),
                        transcript_provider=data.transcript_provider,
                        meeting_link=data.meeting_link,
                        bot_name=data.bot_name,
                        status=status.value,
                        callback_url=data.callback_url,
                        options=data.options,
                        idempotency_key=key,
                        runtime=runtime,
                        now=now,
                        join_at=data.join_at if scheduled else None,
                    )
                )
                if scheduled:
                    assert data.join_at is not None
                    emit(tx, bot, "bot.scheduled", message=f"The bot will join at {rfc3339(data.join_at)}.", now=now)
                else:
                    emit(tx, bot, "bot.joining", message="The bot is joining the meeting.", now=now)
                created = created_view(bot)
        except DuplicateIdempotencyKey:
            # Two requests with the same Idempotency-Key raced: the other one created the bot.
            replay = self._replay(account_id, key) if key is not None else None
            if replay is None:
                raise
            return replay
        # A simulated bot is now in the workers' queue (RuntimeClaims.simulated_queue): the API
        # process never records media.
        return Created(created, replay=False)

    def _check_live_bots(self, tx: Transaction, account_id: str) -> None:
        """At most `live_bots_per_account` bots of an account joining or in a meeting. The
        account's row is locked first, so two concurrent creates cannot both take the last place."""
        tx.accounts.get(account_id, lock=True)
        limit = self._settings.live_bots_per_account
        live = tx.bots.count_in(account_id, [s.value for s in LIVE_STATUSES])
        if live >= limit:
            raise RateLimited(
                f"This account has {live} bots joining or in a meeting, the most it may have at once "
                f"({limit}); create more once some have left.",
                TOO_MANY_BOTS_RETRY_S,
                code="too_many_bots",
            )

    def _check_custom_attributes(self, value: object) -> None:
        limit = self._settings.custom_attributes_max_bytes
        if value is not None and _json_size(value) > limit:
            raise InvalidRequest(
                f"custom_attributes is larger than {limit} bytes of JSON; it is copied into every "
                "webhook of the bot, so keep it to identifiers and small facts.",
                [{"field": "custom_attributes", "message": f"larger than {limit} bytes of JSON"}],
            )

    @staticmethod
    def _check_idempotency_key(key: str | None) -> str | None:
        if key is None:
            return None
        if not key or len(key) > MAX_IDEMPOTENCY_KEY or not key.isprintable():
            raise InvalidRequest(
                "The Idempotency-Key header must be 1 to 255 printable characters.",
                [{"field": "Idempotency-Key", "message": "must be 1 to 255 printable characters"}],
            )
        return key

    def _replay(self, account_id: str, key: str) -> Created | None:
        with self._tx.read() as tx:
            bot = tx.bots.by_idempotency_key(account_id, key)
            return None if bot is None else Created(created_view(bot), replay=True)

    # --- read -----------------------------------------------------------------------------------
    @staticmethod
    def _get(tx: Transaction, account_id: str, bot_id: str, *, lock: bool = False) -> BotRecord:
        bot = tx.bots.get(parse_bot_id(bot_id), lock=lock)
        if bot is None or bot.account_id != account_id:
            raise not_found()
        return bot

    def list(
        self,
        account_id: str,
        *,
        limit: int = DEFAULT_PAGE_SIZE,
        cursor: str | None = None,
        status: str | None = None,
        with_failed_uploads: bool = False,
    ) -> BotPage:
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise InvalidRequest(
                f"limit must be between 1 and {MAX_PAGE_SIZE}.",
                [{"field": "limit", "message": f"must be between 1 and {MAX_PAGE_SIZE}"}],
            )
        after = decode_page_cursor(cursor) if cursor else None
        with self._tx.read() as tx:
            rows = tx.bots.page(
                account_id, after, limit + 1, status=status, with_failed_uploads=with_failed_uploads
            )
            page = _within_bytes(rows[:limit], self._settings.bots_page_max_bytes)
            counts = tx.artifacts.state_counts_of_bots([b.id for b in page])
        more = len(rows) > len(page)
        next_cursor = encode_page_cursor(page[-1].created_at, page[-1].id) if more else None
        return BotPage(tuple(BotSummary.of(b, counts.get(b.id)) for b in page), next_cursor)

    def status(self, account_id: str, bot_id: str) -> BotState:
        with self._tx.read() as tx:
            bot = self._get(tx, account_id, bot_id)
            return BotState(bot.id, bot.status)

    def detail(self, account_id: str, bot_id: str) -> BotDetail:
        with self._tx.read() as tx:
            bot = self._get(tx, account_id, bot_id)
            erased = bot.deletion_requested_at is not None
            # After erasure the media-bearing fields are gone; id, status, times and receipt stay.
            artifacts = [] if erased else tx.artifacts.of_bot(bot.id)
            hooks = tx.webhook_events.of_bot(bot.id)
            latest = tx.erasures.latest_of_bot(bot.id) if erased else None
            erasing = latest is not None and latest.state == ErasureState.PENDING.value
            options = dict(bot.options or {})
            return BotDetail(
                summary=BotSummary.of(bot),
                transcript_provider=bot.transcript_provider,
                callback_url=bot.callback_url,
                video_required=bool(options.get("video_required", True)),
                audio_separate_streams=bool(options.get("audio_separate_streams", False)),
                runtime=bot.runtime,
                left_at=bot.left_at,
                done_at=bot.done_at,
                options=options,
                location=stored_location(bot),
                artifacts=tuple(StoredFile.of(a) for a in artifacts),
                webhooks=tuple(WebhookDelivery.of(w) for w in hooks),
                lifecycle=Lifecycle.of(bot, erasing),
                paused=is_paused(bot.controls),
                pauses=tuple((bot.meeting_data or {}).get("pauses", [])),
                meetstream=MeetStreamDetails.of(bot),
            )

    # --- remove ---------------------------------------------------------------------------------
    def remove(self, account_id: str, bot_id: str) -> Removed:
        """Make the bot leave now (its runtime notices the Leaving status); media is kept."""
        with self._tx.write() as tx:
            bot = self._get(tx, account_id, bot_id, lock=True)
            status = BotStatus(bot.status)
            if status is BotStatus.LEAVING:
                removal = Removal.ALREADY_LEAVING
            elif status in LIVE_STATUSES:
                now = self._clock.now()
                move_to(bot, BotStatus.LEAVING, now)
                emit(tx, bot, "bot.leaving", message="The bot was told to leave (remove_bot).", now=now)
                removal = Removal.LEAVING
            else:
                removal = Removal.ALREADY_LEFT
            return Removed(bot.id, bot.status, removal)
