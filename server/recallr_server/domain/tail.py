"""Wakes live message tails when a message is added.

The database stays the source of truth: a tail re-reads it on every wake-up
and also polls, so messages another replica added reach it within one poll
interval. The in-process signal only makes local ones immediate.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict

from recallr_server.domain.errors import DomainError, Reason

# Each live tail reads the database every poll interval, so their number bounds that load.
DEFAULT_MAX_TAILS = 1_000
# What a tail refused for want of room is asked to wait before it tries again.
TAIL_RETRY_SECONDS = 5.0


class MessageSignal:
    def __init__(self, max_tails: int = DEFAULT_MAX_TAILS) -> None:
        self._waiters: defaultdict[str, set[asyncio.Event]] = defaultdict(set)
        self._max_tails = max_tails
        self._tails = 0
        self.closing = asyncio.Event()

    def notify(self, user_pk: str) -> None:
        for event in self._waiters.get(user_pk, ()):
            event.set()

    def subscribe(self, user_pk: str) -> asyncio.Event:
        """A live tail's wake-up; RATE_LIMITED when this replica follows its most tails."""
        if self._tails >= self._max_tails:
            raise DomainError(
                Reason.RATE_LIMITED,
                f"this replica follows the most live tails it may ({self._max_tails}); "
                "try again later or on another replica",
                metadata={"retry_after_seconds": f"{TAIL_RETRY_SECONDS:g}"},
                retry_after_seconds=TAIL_RETRY_SECONDS,
            )
        event = asyncio.Event()
        self._waiters[user_pk].add(event)
        self._tails += 1
        return event

    def unsubscribe(self, user_pk: str, event: asyncio.Event) -> None:
        waiters = self._waiters.get(user_pk)
        if waiters is not None and event in waiters:
            waiters.discard(event)
            self._tails -= 1
            if not waiters:
                del self._waiters[user_pk]

    def close(self) -> None:
        """Ends every tail: the server is shutting down."""
        self.closing.set()
        for waiters in self._waiters.values():
            for event in waiters:
                event.set()
