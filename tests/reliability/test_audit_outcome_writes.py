"""Audit finding 8: an S3 error code longer than its column made the outcome write fail on
PostgreSQL, so the artifact was uploaded again after every lease, forever, with attempts at 0.

The storage here is an in-memory implementation of the ObjectStore port that answers what an
S3-compatible server may answer (an error code of any length), or breaks in a way meetstore does
not expect; the database, the repositories and the upload service are the real ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from meetstore.container import Container
from meetstore.domain.ports import MultipartCleanup
from meetstore.errors import S3OperationError
from meetstore.services.locations import Locations
from meetstore.services.upload_items import UploadOutcome
from meetstore.services.uploads import UploadService

from support.pipeline import artifacts, bot_row, events, pinned_bot

LONG_CODE = "X" * 300


class AnsweringStore:
    """A platform store whose every upload fails with `error`."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    @property
    def bucket(self) -> str:
        return "odd-s3-compatible"

    @property
    def multipart(self) -> MultipartCleanup | None:
        return None

    def upload_stream(self, stream: Any, key: str, **_kwargs: Any) -> None:
        raise self.error

    def presign_get(self, key: str, expires_in: int) -> str:
        raise AssertionError("not fetched here")

    def read_bytes(self, key: str, max_bytes: int) -> bytes:
        raise AssertionError("not fetched here")


class StoresWith:
    def __init__(self, store: AnsweringStore) -> None:
        self.platform = store
        self.platform_signs_locally = True
        self.platform_region = "local"
        self.platform_endpoint_url: str | None = None

    def platform_prefix(self, account_id: str) -> str:
        return f"accounts/{account_id}/meetstream"

    def custom(self, active: Any) -> AnsweringStore:
        raise AssertionError("platform only")

    def forget(self, account_id: str) -> None:
        return None


def _service(container: Container, error: Exception) -> UploadService:
    locations = Locations(StoresWith(AnsweringStore(error)), container.storage)
    return UploadService(
        container.transactions,
        container.spool,
        container.spool_keys,
        container.settings,
        locations,
        container.janitor,
        container.metrics,
    )


def _run_until_settled(container: Container, service: UploadService, rounds: int) -> list[UploadOutcome]:
    outcomes: list[UploadOutcome] = []
    for _ in range(rounds):
        items = service.claim("w-test", 5)
        if not items:
            break
        outcomes += [service.process(item, "w-test") for item in items]
    return outcomes


def test_finding_8_an_error_code_longer_than_its_column_is_recorded_once(
    make_container: Callable[..., Container], backend: str
) -> None:
    container = make_container(backend, workers=False)
    acct = container.accounts.create("acme")
    bot = pinned_bot(container, acct.account_id, {"audio.mp3": b"ID3" + b"\x01" * 100})
    error = S3OperationError(
        "The S3-compatible server refused the write.", s3_error=LONG_CODE, operation="PutObject" * 20, bucket="b"
    )
    service = _service(container, error)

    outcomes = _run_until_settled(container, service, rounds=3)

    assert UploadOutcome.FAILED in outcomes  # recorded the first time, not retried by lease expiry
    rows = artifacts(container, bot.bot_id)
    audio = rows["audio.mp3"]
    assert audio.state == "failed" and audio.attempts == 1
    assert audio.last_error_code is not None and audio.last_error_code.startswith("XXXX")
    assert len(audio.last_error_code) == 64 and len(audio.last_error_operation or "") == 64
    failed = [e for e in events(container, bot.bot_id) if e["event"] == "storage.upload_failed"]
    assert failed and failed[0]["s3_error"] == audio.last_error_code
    assert service.claim("w-test", 5) == []


def test_finding_8_an_unexpected_error_counts_as_an_attempt_until_the_row_fails(
    make_container: Callable[..., Container], backend: str
) -> None:
    container = make_container(backend, workers=False, upload_max_attempts=3, upload_backoff_base_s=0.0)
    acct = container.accounts.create("acme")
    bot = pinned_bot(container, acct.account_id, {"audio.mp3": b"ID3" + b"\x02" * 100}, callback_url=None)
    service = _service(container, RuntimeError("a bug in a store adapter"))

    outcomes = _run_until_settled(container, service, rounds=10)

    # Two artifacts (the audio and the manifest), each tried three times.
    assert sorted(outcomes) == sorted([UploadOutcome.RETRY] * 4 + [UploadOutcome.FAILED] * 2)
    audio = artifacts(container, bot.bot_id)["audio.mp3"]
    assert audio.state == "failed" and audio.attempts == 3
    assert audio.last_error_code == "InternalError"
    assert "RuntimeError" in (audio.last_error_message or "")
    assert "a bug in a store adapter" not in (audio.last_error_message or "")  # no exception text kept
    assert bot_row(container, bot.bot_id).status == "Done"
