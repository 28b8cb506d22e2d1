"""Runtime credentials (API.md "Runtime credentials"): the dispatcher lists the bots waiting for a
runtime and claims one; the claim gives that bot's own credential, shown once, and every other
ingest call for the bot must carry it.

So a runtime holding bot A's credential cannot touch bot B, and the platform-wide runtime token
can only list and claim. A claim lives while its runtime is seen (`runtime_seen_at`, kept fresh by
the runtime's calls, throttled): once it lapses (the runtime died) the bot may be claimed again,
and the new credential replaces the old one, which stops working.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from meetstore.config import Settings
from meetstore.domain.artifacts import EXTERNAL_RUNTIME, BotStatus
from meetstore.domain.bot_status import move_to
from meetstore.domain.clock import SystemClock
from meetstore.domain.ids import canonical_id
from meetstore.domain.records import BotRecord
from meetstore.domain.repositories import Transactions
from meetstore.errors import BotNotFound, Conflict, InvalidApiKey, InvalidRequest
from meetstore.services.bots import decode_page_cursor, encode_page_cursor
from meetstore.services.events import emit
from meetstore.services.runtime_bots import bot_id_of, refuse_if_left, the_bot

CREDENTIAL_PREFIX = "rt_"
INVALID = "invalid_runtime_token"
ALREADY_CLAIMED = "already_claimed"
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def credential_hash(credential: str) -> str:
    return hashlib.sha256(credential.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Claim:
    """A bot's runtime credential, shown once, and until when its claim lives without a call."""

    bot_id: str
    runtime_credential: str
    lease_expires_at: datetime

    def __repr__(self) -> str:
        return f"Claim(bot_id={self.bot_id!r})"


@dataclass(frozen=True, slots=True)
class WaitingBot:
    bot_id: str
    meeting_link: str
    bot_name: str
    options: dict[str, object]
    created_at: datetime

    @classmethod
    def of(cls, bot: BotRecord) -> WaitingBot:
        return cls(bot.id, bot.meeting_link, bot.bot_name, dict(bot.options or {}), bot.created_at)


@dataclass(frozen=True, slots=True)
class WaitingPage:
    bots: tuple[WaitingBot, ...]
    next_cursor: str | None


class RuntimeClaims:
    def __init__(self, tx: Transactions, settings: Settings, clock: SystemClock | None = None) -> None:
        self._tx = tx
        self._settings = settings
        self._clock = clock or SystemClock()

    @property
    def _lease(self) -> timedelta:
        return timedelta(seconds=self._settings.runtime_stale_after_s)

    def waiting(self, status: str, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None) -> WaitingPage:
        """Bots waiting for an external runtime (no live claim), oldest first."""
        if status != BotStatus.JOINING.value:
            raise InvalidRequest(
                "Only bots that are Joining wait for a runtime.",
                [{"field": "status", "message": "must be Joining"}],
            )
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidRequest(
                f"limit must be between 1 and {MAX_LIMIT}.",
                [{"field": "limit", "message": f"must be between 1 and {MAX_LIMIT}"}],
            )
        after = decode_page_cursor(cursor) if cursor else None
        now = self._clock.now()
        with self._tx.read() as tx:
            rows = tx.bots.waiting_for_runtime(EXTERNAL_RUNTIME, status, now - self._lease, after, limit + 1)
        page = rows[:limit]
        more = len(rows) > limit
        next_cursor = encode_page_cursor(page[-1].created_at, page[-1].id) if more and page else None
        return WaitingPage(tuple(WaitingBot.of(b) for b in page), next_cursor)

    def start_scheduled(self, limit: int = 100) -> int:
        """Scheduled bots whose join time has come become Joining (`bot.joining`), so a runtime
        claims them like any new bot. Exactly once across workers: the rows are locked and their
        status looked at again under the lock. How many were started."""
        now = self._clock.now()
        started = 0
        with self._tx.write() as tx:
            for bot in tx.bots.due_to_join(now, limit):
                if bot.status != BotStatus.SCHEDULED.value:
                    continue
                move_to(bot, BotStatus.JOINING, now)
                emit(tx, bot, "bot.joining", message="The bot is joining the meeting.", now=now)
                started += 1
        return started

    def simulated_queue(self, limit: int) -> list[str]:
        """The simulated bots a worker may claim next, oldest first."""
        with self._tx.read() as tx:
            return tx.bots.simulated_queue(self._clock.now() - self._lease, limit)

    def claim(self, bot_id: str, *, runtime: str = EXTERNAL_RUNTIME) -> Claim:
        """A new credential for the bot; 409 `already_claimed` while another runtime's claim
        lives, or when the bot is not one `runtime` records; 409 `conflict` once it has left."""
        bot_id = bot_id_of(bot_id)
        now = self._clock.now()
        credential = CREDENTIAL_PREFIX + secrets.token_urlsafe(32)
        with self._tx.write() as tx:
            bot = the_bot(tx, bot_id, lock=True)
            refuse_if_left(bot)
            if bot.runtime != runtime:
                raise Conflict(f"This bot is recorded by the {bot.runtime} runtime.", code=ALREADY_CLAIMED)
            seen = bot.runtime_seen_at
            if bot.runtime_credential_hash is not None and seen is not None and seen > now - self._lease:
                raise Conflict(
                    "Another runtime holds this bot's claim; it lapses once that runtime is not seen for "
                    f"{self._settings.runtime_stale_after_s:g} s.",
                    code=ALREADY_CLAIMED,
                )
            bot.runtime_credential_hash = credential_hash(credential)
            bot.runtime_seen_at = now
        return Claim(bot_id, credential, now + self._lease)

    def authorize(self, bot_id: str, credential: str) -> None:
        """The bot's own credential, or InvalidApiKey `invalid_runtime_token` (403); BotNotFound
        for a bot that does not exist."""
        canonical = canonical_id(bot_id)
        if canonical is None:
            raise BotNotFound("No bot with this id exists.")
        with self._tx.read() as tx:
            bot = tx.bots.get(canonical)
            expected = None if bot is None else bot.runtime_credential_hash
        if bot is None:
            raise BotNotFound("No bot with this id exists.")
        if expected is None or not hmac.compare_digest(credential_hash(credential), expected):
            raise InvalidApiKey(
                "This is not the bot's runtime credential: claim the bot with the runtime token first.",
                code=INVALID,
            )
