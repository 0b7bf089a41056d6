"""How long to wait before resending a request to Airship, and for how long to keep trying.

urllib3's ``Retry`` cannot bound the total time spent on ``Retry-After`` waits, nor refresh the OAuth
token between attempts, so the loop lives in the hook; this module holds its arithmetic, reusing
urllib3's ``Retry-After`` parser (seconds or HTTP date).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

BACKOFF_FIRST_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 60.0
# A floor on every wait, so that a server answering "Retry-After: 0" cannot make the loop spin hot.
MIN_WAIT_SECONDS = 0.1


def backoff_seconds(attempt: int) -> float:
    """Exponential backoff for the ``attempt``-th resend (1-based), jittered to between half and all of the step."""
    ceiling = min(BACKOFF_MAX_SECONDS, BACKOFF_FIRST_SECONDS * 2 ** (attempt - 1))
    return random.uniform(ceiling / 2, ceiling)


def retry_after_seconds(header: str | None) -> float | None:
    """Seconds asked for by a ``Retry-After`` header, or None when it is absent or unreadable."""
    if header is None:
        return None
    # Imported here so that the operators module, which reads this module's defaults, stays free of urllib3.
    from urllib3.exceptions import InvalidHeader
    from urllib3.util.retry import Retry

    try:
        return Retry(0).parse_retry_after(header)
    except InvalidHeader:
        return None


@dataclass
class RetryBudget:
    """Tracks the time spent since the first attempt against ``max_seconds``."""

    max_seconds: float
    started: float = field(default_factory=time.monotonic)
    resends: int = 0

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def next_wait(self, requested: float | None) -> float | None:
        """The wait before the next resend, or None when it would overrun the budget."""
        wait = max(
            MIN_WAIT_SECONDS, requested if requested is not None else backoff_seconds(self.resends + 1)
        )
        if self.elapsed + wait > self.max_seconds:
            return None
        return wait

    def wait(self, seconds: float) -> None:
        self.resends += 1
        time.sleep(seconds)
