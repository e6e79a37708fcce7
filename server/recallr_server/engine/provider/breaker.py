"""A circuit breaker for a model server that keeps failing.

Without it every recall with a model plan would pay the failing server's timeouts and
retries before falling back. After `failures` consecutive failed requests the breaker
opens: requests are refused at once for `cooldown_seconds`; then one request is let
through (half-open). Its success closes the breaker, its failure opens it for another
cool-down. A failure is the server's: unreachable, timing out or answering an error after
the client's retries. A reply the model got wrong came from a working server and counts
as a success here.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("recallr.llm")

DEFAULT_BREAKER_FAILURES = 5
DEFAULT_BREAKER_COOLDOWN_SECONDS = 30.0


class CircuitBreaker:
    """Counts consecutive failures of one server's requests. Safe to share between threads.

    Every request asks `admit()` first and, when admitted, reports its end exactly once:
    `succeeded()`, `failed(reason)`, or `abandoned()` when it ended for a reason of its
    own rather than the server's. `failures=0` turns the breaker off.
    """

    def __init__(
        self,
        failures: int = DEFAULT_BREAKER_FAILURES,
        cooldown_seconds: float = DEFAULT_BREAKER_COOLDOWN_SECONDS,
        *,
        clock: Callable[[], float] = time.monotonic,
        on_change: Callable[[bool], None] = lambda is_open: None,
    ) -> None:
        if failures < 0:
            raise ValueError("failures must be 0 (off) or more")
        if not cooldown_seconds > 0:
            raise ValueError("cooldown_seconds must be positive")
        self._threshold = failures
        self._cooldown = cooldown_seconds
        self._clock = clock
        self._on_change = on_change
        self._lock = threading.Lock()
        self._failures = 0
        self._last_failure = ""
        self._opened_at: float | None = None
        self._trial_running = False

    def admit(self) -> str | None:
        """None when a request may go ahead; otherwise why it may not."""
        with self._lock:
            if self._opened_at is None:
                return None
            left = self._opened_at + self._cooldown - self._clock()
            if left <= 0 and not self._trial_running:
                self._trial_running = True
                return None
            wait = f"tried again in {left:.0f}s" if left > 0 else "being tried again now"
            return (
                f"the model server failed the last {self._failures} requests and is "
                f"{wait}; last failure: {self._last_failure}"
            )

    def succeeded(self) -> None:
        with self._lock:
            was_open = self._opened_at is not None
            self._failures = 0
            self._opened_at = None
            self._trial_running = False
        if was_open:
            log.warning("the model server answers again; asking it as before")
            self._on_change(False)

    def failed(self, reason: str) -> None:
        with self._lock:
            self._failures += 1
            self._last_failure = reason
            trial, self._trial_running = self._trial_running, False
            count = self._failures
            opens = bool(self._threshold) and (trial or count == self._threshold)
            if opens:
                self._opened_at = self._clock()
        if opens:
            log.warning(
                "the model server failed %d requests in a row; not asking it for %.0fs. "
                "Last failure: %s",
                count,
                self._cooldown,
                reason,
            )
            self._on_change(True)

    def abandoned(self) -> None:
        """Frees the half-open trial, if this was it, without judging the server."""
        with self._lock:
            self._trial_running = False
