"""Wakes live message tails when messages are added: one signal per process.

The database stays the source of truth: a woken tail reads its user's new messages from
it. What wakes it: this process's own adds, at once (`notify` after commit); other
processes' adds, through the process's one message feed (store.message_feed), which
hears PostgreSQL's notifications or, on SQLite, polls once for every tail of the process.
An idle tail costs nothing but its stream: no timer, no query.

How many tails a project may hold open in one process is bounded (`max_tails_per_project`).
"""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict

from recallr_server.domain.errors import DomainError, Reason

# What a refused tail is told to wait before trying again: tails end when their
# clients go, so a slot frees as soon as one does.
TAIL_RETRY_SECONDS = 5.0


def too_many_tails(limit: int) -> DomainError:
    return DomainError(
        Reason.RATE_LIMITED,
        f"the project already follows {limit} live tails on this server, the most it may;"
        " close one or retry later",
        metadata={"retry_after_seconds": f"{TAIL_RETRY_SECONDS:g}", "limit": str(limit)},
        retry_after_seconds=TAIL_RETRY_SECONDS,
    )


class MessageSignal:
    def __init__(self, max_tails_per_project: int | None = None) -> None:
        self._waiters: defaultdict[str, set[asyncio.Event]] = defaultdict(set)
        self._open: Counter[str] = Counter()
        self._max_tails = max_tails_per_project
        self.closing = asyncio.Event()
        # Set while any tail is open: the feed's poll runs only then.
        self.watched = asyncio.Event()

    def notify(self, user_pk: str) -> None:
        for event in self._waiters.get(user_pk, ()):
            event.set()

    def notify_all(self) -> None:
        """Wakes every tail, to look for messages whose announcement may have been missed."""
        for waiters in self._waiters.values():
            for event in waiters:
                event.set()

    def subscribe(self, project_id: str, user_pk: str) -> asyncio.Event:
        """An event set when `user_pk` may have new messages; RATE_LIMITED past the limit."""
        if self._max_tails is not None and self._open[project_id] >= self._max_tails:
            raise too_many_tails(self._max_tails)
        self._open[project_id] += 1
        event = asyncio.Event()
        self._waiters[user_pk].add(event)
        self.watched.set()
        return event

    def unsubscribe(self, project_id: str, user_pk: str, event: asyncio.Event) -> None:
        waiters = self._waiters.get(user_pk)
        if waiters is None or event not in waiters:
            return
        waiters.discard(event)
        if not waiters:
            del self._waiters[user_pk]
        self._open[project_id] -= 1
        if not self._open[project_id]:
            del self._open[project_id]
        if not self._waiters:
            self.watched.clear()

    def close(self) -> None:
        """Ends every tail: the server is shutting down."""
        self.closing.set()
        self.notify_all()
