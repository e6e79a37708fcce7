"""Wakes live message tails when a message is added.

The database stays the source of truth: a tail re-reads it on every wake-up
and also polls, so messages another replica added reach it within one poll
interval. The in-process signal only makes local ones immediate.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict


class MessageSignal:
    def __init__(self) -> None:
        self._waiters: defaultdict[str, set[asyncio.Event]] = defaultdict(set)
        self.closing = asyncio.Event()

    def notify(self, user_pk: str) -> None:
        for event in self._waiters.get(user_pk, ()):
            event.set()

    def subscribe(self, user_pk: str) -> asyncio.Event:
        event = asyncio.Event()
        self._waiters[user_pk].add(event)
        return event

    def unsubscribe(self, user_pk: str, event: asyncio.Event) -> None:
        waiters = self._waiters.get(user_pk)
        if waiters is not None:
            waiters.discard(event)
            if not waiters:
                del self._waiters[user_pk]

    def close(self) -> None:
        """Ends every tail: the server is shutting down."""
        self.closing.set()
        for waiters in self._waiters.values():
            for event in waiters:
                event.set()
