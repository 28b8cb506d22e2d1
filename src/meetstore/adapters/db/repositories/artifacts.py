"""Artifact rows: the upload outbox's named queries, and the mapping of a row to the domain's
upload state (`UploadProgress`) and back, so every change of state is a named transition of
`domain.artifacts` applied here in one place."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from meetstore.adapters.db import outbox
from meetstore.adapters.db.tables import Artifact
from meetstore.domain.artifacts import UploadState
from meetstore.domain.records import ArtifactRecord
from meetstore.domain.repositories import NewArtifact

CLAIM_BATCH_MAX = 100


class Artifacts:
    """The artifact queries of one transaction."""

    def __init__(self, s: Session, *, postgres: bool) -> None:
        self._s = s
        self._postgres = postgres

    # --- the outbox -----------------------------------------------------------------------------
    def claim_due(self, owner: str, limit: int, now: datetime, lease: timedelta) -> list[tuple[ArtifactRecord, bool]]:
        """Lease up to `limit` due rows, oldest due first; each with whether it was taken over."""
        query = (
            select(Artifact)
            .where(*outbox.due(Artifact, now))
            .order_by(Artifact.next_attempt_at, Artifact.id)
            .limit(max(1, min(limit, CLAIM_BATCH_MAX)))
        )
        rows = list(self._s.scalars(outbox.claimable(query, postgres=self._postgres)))
        return [(row, outbox.take_lease(row, owner, now + lease)) for row in rows]

    def fenced(self, artifact_id: int, owner: str) -> Artifact | None:
        return outbox.fenced(self._s, Artifact, artifact_id, owner)

    def renew(self, owner: str, ids: Sequence[int], expires_at: datetime) -> set[int]:
        return outbox.renew(self._s, Artifact, owner, ids, expires_at)

    def release(self, owner: str, ids: Sequence[int]) -> None:
        outbox.release(self._s, Artifact, owner, ids)

    def set_multipart(self, artifact_id: int, owner: str, upload_id: str | None) -> bool:
        """Record the attempt's open multipart upload, fenced on the lease; False once it is lost."""
        result = self._s.execute(
            update(Artifact)
            .where(Artifact.id == artifact_id, Artifact.lease_owner == owner)
            .values(multipart_upload_id=upload_id)
        )
        return bool(getattr(result, "rowcount", 0))

    # --- a bot's artifacts ----------------------------------------------------------------------
    def add(self, artifacts: Sequence[NewArtifact]) -> None:
        self._s.add_all(
            Artifact(
                bot_id=a.bot_id,
                account_id=a.account_id,
                kind=a.kind,
                category=a.category,
                seq=a.seq,
                participant=a.participant,
                spool_name=a.spool_name,
                key=a.key,
                content_type=a.content_type,
                size=a.size,
                sha256=a.sha256,
                state=a.state,
                attempts=0,
                next_attempt_at=a.now,
                taken_at_s=a.taken_at_s,
                created_at=a.now,
            )
            for a in artifacts
        )

    def count_of_bot(self, bot_id: str, state: str | None = None) -> int:
        query = select(func.count()).select_from(Artifact).where(Artifact.bot_id == bot_id)
        if state is not None:
            query = query.where(Artifact.state == state)
        return int(self._s.scalar(query) or 0)

    def of_bot(self, bot_id: str) -> list[ArtifactRecord]:
        return list(
            self._s.scalars(
                select(Artifact)
                .where(Artifact.bot_id == bot_id)
                .order_by(Artifact.kind, Artifact.seq, Artifact.participant, Artifact.id)
            )
        )

    def of_kinds(self, bot_id: str, kinds: Sequence[str]) -> list[ArtifactRecord]:
        return list(
            self._s.scalars(
                select(Artifact)
                .where(Artifact.bot_id == bot_id, Artifact.kind.in_(kinds))
                .order_by(Artifact.kind, Artifact.seq, Artifact.participant)
            )
        )

    def first_of_kind(self, bot_id: str, kind: str) -> Artifact | None:
        return self._s.execute(
            select(Artifact)
            .where(Artifact.bot_id == bot_id, Artifact.kind == kind)
            .order_by(Artifact.seq)
            .limit(1)
        ).scalar_one_or_none()

    def state_counts(self, bot_id: str, kind: str) -> dict[str, int]:
        counts = self._s.execute(
            select(Artifact.state, func.count())
            .where(Artifact.bot_id == bot_id, Artifact.kind == kind)
            .group_by(Artifact.state)
        ).all()
        return {str(state): int(n) for state, n in counts}

    def first_failed(self, bot_id: str, kind: str) -> Artifact | None:
        return self._s.execute(
            select(Artifact)
            .where(
                Artifact.bot_id == bot_id, Artifact.kind == kind, Artifact.state == UploadState.FAILED.value
            )
            .order_by(Artifact.seq)
            .limit(1)
        ).scalar_one_or_none()

    def page_of_kind(self, bot_id: str, kind: str, after_seq: int, limit: int) -> list[ArtifactRecord]:
        return list(
            self._s.scalars(
                select(Artifact)
                .where(Artifact.bot_id == bot_id, Artifact.kind == kind, Artifact.seq > after_seq)
                .order_by(Artifact.seq)
                .limit(limit)
            )
        )

    def state_counts_of_bots(self, bot_ids: Sequence[str]) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {b: {} for b in bot_ids}
        if not bot_ids:
            return out
        rows = self._s.execute(
            select(Artifact.bot_id, Artifact.state, func.count())
            .where(Artifact.bot_id.in_(list(bot_ids)))
            .group_by(Artifact.bot_id, Artifact.state)
        )
        for bot_id, state, n in rows:
            out[bot_id][state] = int(n)
        return out

    def failed_of_bot(self, bot_id: str) -> list[ArtifactRecord]:
        return list(
            self._s.scalars(
                select(Artifact)
                .where(Artifact.bot_id == bot_id, Artifact.state == UploadState.FAILED.value)
                .order_by(Artifact.id)
                .with_for_update()
            )
        )

    # --- spool copies ---------------------------------------------------------------------------
    def kept_in_spool(self, bot_id: str) -> int:
        return int(
            self._s.scalar(
                select(func.count())
                .select_from(Artifact)
                .where(Artifact.bot_id == bot_id, Artifact.spool_deleted.is_(False))
            )
            or 0
        )

    def mark_spool_deleted(self, ids: Sequence[int]) -> None:
        if ids:
            self._s.execute(update(Artifact).where(Artifact.id.in_(ids)).values(spool_deleted=True))

    def spool_copies_due(self, failed_before: datetime, limit: int) -> list[ArtifactRecord]:
        """Spool copies no longer needed: of uploaded files (left by a crash), and of failed files
        whose retention ended."""
        query = (
            select(Artifact)
            .where(
                Artifact.spool_deleted.is_(False),
                or_(
                    Artifact.state == UploadState.UPLOADED.value,
                    and_(Artifact.state == UploadState.FAILED.value, Artifact.failed_at < failed_before),
                ),
            )
            .order_by(Artifact.id)
            .limit(limit)
        )
        return list(self._s.scalars(outbox.claimable(query, postgres=self._postgres)))

    def latest_live_lease(self, bot_id: str, now: datetime) -> datetime | None:
        """When the last lease still held on one of the bot's artifacts runs out (None: none is)."""
        latest: datetime | None = self._s.scalar(
            select(func.max(Artifact.lease_expires_at)).where(
                Artifact.bot_id == bot_id, Artifact.lease_owner.is_not(None), Artifact.lease_expires_at > now
            )
        )
        return latest
