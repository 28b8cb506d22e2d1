"""Bot rows: named queries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, func, not_, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from meetstore.adapters.db.tables import Artifact, Bot
from meetstore.domain.artifacts import SIMULATED_RUNTIME, BotStatus, UploadState
from meetstore.domain.records import BotRecord
from meetstore.domain.repositories import DuplicateIdempotencyKey, NewBot

JOINING = BotStatus.JOINING.value
SCHEDULED = BotStatus.SCHEDULED.value
LEAVING = BotStatus.LEAVING.value


class Bots:
    def __init__(self, s: Session) -> None:
        self._s = s

    def add(self, bot: NewBot) -> Bot:
        row = Bot(
            id=bot.id,
            account_id=bot.account_id,
            transcript_id=bot.transcript_id,
            transcript_provider=bot.transcript_provider,
            meeting_link=bot.meeting_link,
            bot_name=bot.bot_name,
            status=bot.status,
            callback_url=bot.callback_url,
            options=bot.options,
            idempotency_key=bot.idempotency_key,
            runtime=bot.runtime,
            created_at=bot.now,
            updated_at=bot.now,
            timeline={bot.status: bot.now.isoformat()},
            join_at=bot.join_at,
        )
        self._s.add(row)
        try:
            self._s.flush()
        except IntegrityError as exc:
            if bot.idempotency_key is None:
                raise
            raise DuplicateIdempotencyKey(bot.idempotency_key) from exc
        return row

    def get(self, bot_id: str, *, lock: bool = False) -> Bot | None:
        return self._s.get(Bot, bot_id, with_for_update=lock)

    def locked(self, bot_id: str) -> Bot:
        return self._s.execute(select(Bot).where(Bot.id == bot_id).with_for_update()).scalar_one()

    def of_account(self, bot_id: str, account_id: str, *, lock: bool = False) -> Bot | None:
        query = select(Bot).where(Bot.id == bot_id, Bot.account_id == account_id)
        if lock:
            query = query.with_for_update()
        return self._s.execute(query).scalar_one_or_none()

    def by_ids(self, ids: Sequence[str]) -> list[BotRecord]:
        return list(self._s.scalars(select(Bot).where(Bot.id.in_(ids))))

    def by_idempotency_key(self, account_id: str, key: str) -> Bot | None:
        return self._s.execute(
            select(Bot).where(Bot.account_id == account_id, Bot.idempotency_key == key)
        ).scalar_one_or_none()

    def by_transcript(self, transcript_id: str, account_id: str) -> Bot | None:
        return self._s.execute(
            select(Bot).where(Bot.transcript_id == transcript_id, Bot.account_id == account_id)
        ).scalar_one_or_none()

    def waiting_for_runtime(
        self, runtime: str, status: str, unseen_since: datetime, after: tuple[datetime, str] | None, limit: int
    ) -> list[BotRecord]:
        query = select(Bot).where(
            Bot.status == status,
            Bot.runtime == runtime,
            Bot.pin_kind.is_(None),
            or_(
                Bot.runtime_credential_hash.is_(None),
                Bot.runtime_seen_at.is_(None),
                Bot.runtime_seen_at < unseen_since,
            ),
        )
        if after is not None:
            created_at, last_id = after
            query = query.where(
                or_(Bot.created_at > created_at, and_(Bot.created_at == created_at, Bot.id > last_id))
            )
        query = query.order_by(Bot.created_at, Bot.id).limit(limit)
        return list(self._s.execute(query).scalars())

    def simulated_queue(self, unseen_since: datetime, limit: int) -> list[str]:
        query = (
            select(Bot.id)
            .where(
                Bot.runtime == SIMULATED_RUNTIME,
                Bot.pin_kind.is_(None),
                Bot.status.in_((JOINING, LEAVING)),
                or_(
                    Bot.runtime_credential_hash.is_(None),
                    and_(Bot.status == JOINING, Bot.runtime_seen_at < unseen_since),
                ),
            )
            .order_by(Bot.created_at, Bot.id)
            .limit(limit)
        )
        return list(self._s.scalars(query))

    def due_to_join(self, now: datetime, limit: int) -> list[BotRecord]:
        """Scheduled bots whose time has come, oldest join time first, locked (the caller checks
        the status again under the lock: two workers start a bot once)."""
        query = (
            select(Bot)
            .where(Bot.status == SCHEDULED, Bot.join_at <= now)
            .order_by(Bot.join_at, Bot.id)
            .limit(limit)
            .with_for_update()
        )
        return list(self._s.scalars(query))

    def count_in(self, account_id: str, statuses: Sequence[str]) -> int:
        query = select(func.count()).select_from(Bot).where(Bot.account_id == account_id, Bot.status.in_(statuses))
        return int(self._s.execute(query).scalar_one())

    def page(
        self,
        account_id: str,
        after: tuple[datetime, str] | None,
        limit: int,
        *,
        status: str | None = None,
        with_failed_uploads: bool = False,
    ) -> list[BotRecord]:
        query = select(Bot).where(Bot.account_id == account_id)
        if status is not None:
            query = query.where(Bot.status == status)
        if with_failed_uploads:
            failed = select(Artifact.bot_id).where(Artifact.state == UploadState.FAILED.value)
            query = query.where(Bot.id.in_(failed))
        if after is not None:
            created_at, last_id = after
            query = query.where(
                or_(Bot.created_at < created_at, and_(Bot.created_at == created_at, Bot.id < last_id))
            )
        query = query.order_by(Bot.created_at.desc(), Bot.id.desc()).limit(limit)
        return list(self._s.execute(query).scalars())

    def stale_live(self, statuses: Sequence[str], cutoff: datetime, limit: int) -> list[str]:
        return list(
            self._s.scalars(
                select(Bot.id)
                .where(
                    Bot.status.in_(statuses),
                    Bot.pin_kind.is_(None),
                    # Simulated bots in the workers' queue: no runtime of theirs died.
                    not_(
                        and_(
                            Bot.runtime == SIMULATED_RUNTIME,
                            or_(Bot.runtime_credential_hash.is_(None), Bot.status == JOINING),
                        )
                    ),
                    or_(
                        Bot.runtime_seen_at < cutoff,
                        and_(Bot.runtime_seen_at.is_(None), Bot.updated_at < cutoff),
                    ),
                )
                .order_by(Bot.updated_at)
                .limit(limit)
            )
        )

    def touch_runtime(self, ids: Sequence[str], now: datetime) -> int:
        result = self._s.execute(
            update(Bot)
            .where(Bot.id.in_(ids), Bot.pin_kind.is_(None))
            .values(runtime_seen_at=now)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    def retention_ended(self, now: datetime, limit: int) -> list[str]:
        """Bots whose pinned retention ran out by `now` and whose media is not erased yet."""
        return list(
            self._s.scalars(
                select(Bot.id)
                .where(
                    Bot.retention_expires_at.is_not(None),
                    Bot.retention_expires_at <= now,
                    Bot.deletion_requested_at.is_(None),
                )
                .order_by(Bot.retention_expires_at)
                .limit(limit)
            )
        )
