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
from meetstore.domain.artifacts import UploadError, UploadProgress, UploadState

CLAIM_BATCH_MAX = 100


def progress_of(row: Artifact) -> UploadProgress:
    error = None
    if row.last_error_code is not None or row.last_error_message is not None:
        error = UploadError(
            row.last_error_code or "", row.last_error_operation or "", row.last_error_message or ""
        )
    return UploadProgress(
        state=UploadState(row.state),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        lease_owner=row.lease_owner,
        lease_expires_at=row.lease_expires_at,
        multipart_upload_id=row.multipart_upload_id,
        uploaded_at=row.uploaded_at,
        failed_at=row.failed_at,
        last_error=error,
    )


def apply(row: Artifact, progress: UploadProgress) -> None:
    """Write a transition's result onto the row (in the caller's transaction)."""
    row.state = progress.state.value
    row.attempts = progress.attempts
    row.next_attempt_at = progress.next_attempt_at
    row.lease_owner = progress.lease_owner
    row.lease_expires_at = progress.lease_expires_at
    row.multipart_upload_id = progress.multipart_upload_id
    row.uploaded_at = progress.uploaded_at
    row.failed_at = progress.failed_at
    error = progress.last_error
    row.last_error_code = error.code if error else None
    row.last_error_operation = error.operation if error else None
    row.last_error_message = error.message if error else None


class Artifacts:
    """The artifact queries of one transaction."""

    def __init__(self, s: Session, *, postgres: bool) -> None:
        self._s = s
        self._postgres = postgres

    # --- the outbox -----------------------------------------------------------------------------
    def claim_due(self, owner: str, limit: int, now: datetime, lease: timedelta) -> list[tuple[Artifact, bool]]:
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
    def count_of_bot(self, bot_id: str, state: UploadState | None = None) -> int:
        query = select(func.count()).select_from(Artifact).where(Artifact.bot_id == bot_id)
        if state is not None:
            query = query.where(Artifact.state == state.value)
        return int(self._s.scalar(query) or 0)

    def failed_of_bot(self, bot_id: str) -> list[Artifact]:
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

    def spool_copies_due(self, failed_before: datetime, limit: int) -> list[Artifact]:
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
