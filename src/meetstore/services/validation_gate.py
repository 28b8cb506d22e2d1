"""Where storage validations run: their own bounded threads, a few per account at a time, each
within one deadline.

A validation waits on the customer's endpoint, which may be slow or a black hole. Run on the API's
request threads, sixty of them made another tenant's `GET /bots` wait 25 s. Here an account has at
most `validations_per_account` in flight (the next is refused at once), they run on
`validation_threads` threads of their own, and the caller waits at most `validation_deadline_s`.
A validation past its deadline keeps its slot until its S3 calls end (their own timeouts), so
abandoning slow validations cannot pile up threads either.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TypeVar

from meetstore.config import Settings
from meetstore.errors import RateLimited, StorageValidationFailed

T = TypeVar("T")

TOO_MANY = "too_many_validations"


class ValidationGate:
    def __init__(self, settings: Settings) -> None:
        self._per_account = settings.validations_per_account
        self._deadline_s = settings.validation_deadline_s
        self._executor = ThreadPoolExecutor(max_workers=settings.validation_threads, thread_name_prefix="validate")
        self._in_flight: dict[str, int] = {}
        self._lock = threading.Lock()

    def run(self, account_id: str, check: Callable[[], T], *, bucket: str) -> T:
        """`check()` on the validation threads; TooManyValidations (429) when the account has its
        fill in flight; StorageValidationFailed `Timeout` past the deadline."""
        self._take(account_id)
        try:
            future = self._executor.submit(check)
        except BaseException:
            self._release(account_id)
            raise
        future.add_done_callback(lambda _f: self._release(account_id))
        return self._wait(future, bucket)

    def _wait(self, future: Future[T], bucket: str) -> T:
        try:
            return future.result(timeout=self._deadline_s)
        except FutureTimeout:
            raise StorageValidationFailed(
                f"Storage validation failed: the bucket's endpoint did not answer every check within "
                f"{self._deadline_s:g} s. Check endpoint_url and the network path to it.",
                s3_error="Timeout",
                operation="Validation",
                bucket=bucket,
                key=None,
            ) from None

    def _take(self, account_id: str) -> None:
        with self._lock:
            n = self._in_flight.get(account_id, 0)
            if n >= self._per_account:
                retry_after = max(1, round(self._deadline_s))
                raise RateLimited(
                    f"{n} validations of this account are still running; retry in {retry_after} s.",
                    retry_after,
                    code=TOO_MANY,
                )
            self._in_flight[account_id] = n + 1

    def _release(self, account_id: str) -> None:
        with self._lock:
            n = self._in_flight.get(account_id, 1) - 1
            if n <= 0:
                self._in_flight.pop(account_id, None)
            else:
                self._in_flight[account_id] = n

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
