"""Request rate limits, applied where the caller is known (api/deps.py).

- Each account gets a token bucket (`rate_limit_per_minute`, `rate_limit_burst`), taken after
  authentication: however the key is spelled, and whatever else the request carries, it is the
  account's bucket. Keying on the raw header let every spelling of a key start a fresh bucket.
- Each client address gets a budget of failed authentications (`auth_failures_per_minute`):
  past it, a key the process does not know is refused (429) before the database is asked, so a
  flood of made-up keys cannot load it.

Buckets are per process: with N API processes the effective limits are N times the settings.
"""

from __future__ import annotations

import math
import threading
import time

from meetstore.config import Settings
from meetstore.errors import RateLimited


class TokenBuckets:
    """Per-key token buckets (thread-safe, in memory, at most `max_keys` remembered)."""

    def __init__(self, per_minute: int, burst: int, max_keys: int = 100_000) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._state: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()
        self._max_keys = max_keys

    def _tokens(self, key: str, t: float) -> float:
        tokens, last = self._state.get(key, (self.burst, t))
        return min(self.burst, tokens + (t - last) * self.rate)

    def _wait(self, tokens: float) -> float:
        return (1 - tokens) / self.rate if self.rate > 0 else 60.0

    def take(self, key: str, now: float | None = None) -> float:
        """Take a token: 0 when allowed, else the seconds to wait (nothing taken)."""
        t = time.monotonic() if now is None else now
        with self._lock:
            tokens = self._tokens(key, t)
            if tokens >= 1:
                if len(self._state) >= self._max_keys and key not in self._state:
                    self._state.clear()
                self._state[key] = (tokens - 1, t)
                return 0.0
            self._state[key] = (tokens, t)
            return self._wait(tokens)

    def wait(self, key: str, now: float | None = None) -> float:
        """The seconds until `key` has a token again (0: it has one); takes nothing."""
        t = time.monotonic() if now is None else now
        with self._lock:
            tokens = self._tokens(key, t)
            return 0.0 if tokens >= 1 else self._wait(tokens)


def _refused(wait_s: float, what: str) -> RateLimited:
    retry_after = max(1, math.ceil(wait_s))
    return RateLimited(f"{what}; retry in {retry_after} s.", retry_after)


class RequestLimits:
    def __init__(self, settings: Settings) -> None:
        self.accounts = TokenBuckets(settings.rate_limit_per_minute, settings.rate_limit_burst)
        self.auth_failures = TokenBuckets(settings.auth_failures_per_minute, settings.auth_failures_per_minute)

    def take(self, account_id: str) -> None:
        """One request of an authenticated account; RateLimited when over its rate."""
        wait = self.accounts.take(account_id)
        if wait > 0:
            raise _refused(wait, "Too many requests")

    def check_address(self, address: str) -> None:
        """Before a key is looked up in the database: RateLimited when this address has failed
        authentication too often lately."""
        wait = self.auth_failures.wait(address)
        if wait > 0:
            raise _refused(wait, "Too many failed authentications from this address")

    def failed(self, address: str) -> None:
        self.auth_failures.take(address)
