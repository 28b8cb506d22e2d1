"""The upload state machine: each named transition, what it writes, and what it refuses."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from meetstore.domain.artifacts import (
    IllegalTransition,
    UploadError,
    UploadProgress,
    UploadState,
    mark_failed,
    mark_uploaded,
    requeue,
    schedule_retry,
)

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
DENIED = UploadError("AccessDenied", "PutObject", "The policy does not allow s3:PutObject.")
LEASED = UploadProgress(
    state=UploadState.PENDING,
    attempts=2,
    next_attempt_at=NOW - timedelta(seconds=5),
    lease_owner="worker-a",
    lease_expires_at=NOW + timedelta(seconds=60),
    multipart_upload_id="upload-1",
    last_error=UploadError("SlowDown", "UploadPart", "Reduce your request rate."),
)


def test_mark_uploaded_is_final_and_clears_the_attempt() -> None:
    done = mark_uploaded(LEASED, NOW)
    assert done == UploadProgress(state=UploadState.UPLOADED, attempts=3, uploaded_at=NOW)
    for transition in (
        lambda p: mark_uploaded(p, NOW),
        lambda p: schedule_retry(p, DENIED, NOW),
        lambda p: mark_failed(p, DENIED, NOW),
        lambda p: requeue(p, NOW),
    ):
        with pytest.raises(IllegalTransition):
            transition(done)


def test_schedule_retry_keeps_it_pending_with_the_error_and_the_open_upload() -> None:
    at = NOW + timedelta(seconds=8)
    retry = schedule_retry(LEASED, DENIED, at)
    assert retry.state is UploadState.PENDING
    assert (retry.attempts, retry.next_attempt_at, retry.last_error) == (3, at, DENIED)
    assert (retry.lease_owner, retry.lease_expires_at) == (None, None)
    assert retry.multipart_upload_id == "upload-1"  # the next attempt aborts it


def test_mark_failed_keeps_the_error_until_a_requeue() -> None:
    failed = mark_failed(LEASED, DENIED, NOW)
    assert (failed.state, failed.attempts, failed.failed_at, failed.last_error) == (
        UploadState.FAILED,
        3,
        NOW,
        DENIED,
    )
    assert (failed.next_attempt_at, failed.lease_owner) == (None, None)
    with pytest.raises(IllegalTransition):
        schedule_retry(failed, DENIED, NOW)
    with pytest.raises(IllegalTransition):
        mark_failed(failed, DENIED, NOW)

    again = requeue(failed, NOW)
    assert again == replace(
        failed,
        state=UploadState.PENDING,
        attempts=0,
        next_attempt_at=NOW,
        failed_at=None,
        last_error=None,
    )


def test_a_pending_upload_cannot_be_requeued() -> None:
    with pytest.raises(IllegalTransition):
        requeue(LEASED, NOW)
