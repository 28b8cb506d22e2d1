"""The one retry backoff of the outboxes (uploads and webhook deliveries)."""

from __future__ import annotations

import random


def backoff_delay(failures: int, base_s: float, max_s: float, rng: random.Random | None = None) -> float:
    """Seconds to wait after the `failures`-th failed attempt: exponential from `base_s`, capped at
    `max_s`, with equal jitter (half fixed, half random) so that retries of rows that failed
    together spread out, yet none comes back at once."""
    exp = min(max_s, base_s * (2.0 ** max(0, failures - 1)))
    r = rng or random
    return exp / 2.0 + r.uniform(0.0, exp / 2.0)
