"""When a prompt that never reached the server may be sent again, and how long to wait first.

A prompt is retried only while it is certain the server never received it (the handshake
was refused with 429 or 503, the connection was refused, or the opening handshake timed
out); once the request may have gone out it is never sent twice. The waits back off
exponentially, honour the server's ``Retry-After`` within a cap, and carry jitter so a
batch refused at once does not come back at once.
"""

from __future__ import annotations

import email.utils
import math
import random
import time

__all__ = ["RETRY_AFTER_CAP", "RETRY_STATUSES", "retry_after_seconds", "retry_delay", "retry_note"]

RETRY_STATUSES = (429, 503)  # handshake refusals that mean "not now", never "no"
RETRY_AFTER_CAP = 60.0  # seconds: the longest a server's Retry-After makes us wait
BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0


def retry_after_seconds(header: str | None) -> float | None:
    """A ``Retry-After`` value (seconds or an HTTP date) in seconds from now, or None."""
    if not header:
        return None
    header = header.strip()
    try:
        seconds = float(header)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(header)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = when.timestamp() - time.time()
    return max(0.0, seconds) if math.isfinite(seconds) else None


def retry_delay(attempt: int, retry_after: str | None = None) -> float:
    """Seconds to wait before retrying a prompt that was never delivered.

    The server's ``Retry-After`` when it gives one (capped at ``RETRY_AFTER_CAP``), else
    exponential backoff from ``BACKOFF_BASE``; both with jitter.
    """
    wanted = retry_after_seconds(retry_after)
    if wanted is not None:
        return min(RETRY_AFTER_CAP, wanted + random.uniform(0, BACKOFF_BASE))
    return min(BACKOFF_CAP, BACKOFF_BASE * 2.0**attempt) * random.uniform(0.5, 1.0)


def retry_note(error: str | None, tries: int) -> str | None:
    """``error`` with how many retries were spent before giving up, when there were any."""
    if not tries or error is None:
        return error
    return f"{error} (after {tries} {'retry' if tries == 1 else 'retries'})"
