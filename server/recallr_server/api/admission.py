"""Refusing new calls while a stopping server lets its in-flight calls finish.

gRPC core fails a call that reached the server but was not yet handed to a handler
when the server stops with CANCELLED, a status most retry policies (and ours) never
retry. The asyncio server hands calls over one at a time, so under load a queue of
such calls builds up. Before it stops, a server therefore keeps handing calls over
for a moment but refuses each new one with UNAVAILABLE, which clients retry on
another replica; it stops once no call has arrived for a short quiet spell, so that
the queue is empty when it does.
"""

from __future__ import annotations

import asyncio
import time

from recallr_server.domain.errors import DomainError, Reason

# Long against the gap between two calls of a busy client, short against a grace period.
QUIET_SECONDS = 0.1


class Admission:
    def __init__(self) -> None:
        self._refusing = False
        self._last_arrival = time.monotonic()

    def admit(self) -> None:
        """Raises SERVICE_UNAVAILABLE once the server has begun to stop."""
        self._last_arrival = time.monotonic()
        if self._refusing:
            raise DomainError(
                Reason.SERVICE_UNAVAILABLE,
                "the server is shutting down; retry the call on another replica",
            )

    async def refuse_until_quiet(self, limit_seconds: float) -> None:
        """Refuses new calls until none has arrived for QUIET_SECONDS, or `limit_seconds`."""
        self._refusing = True
        deadline = time.monotonic() + limit_seconds
        while (now := time.monotonic()) < deadline:
            quiet_until = self._last_arrival + QUIET_SECONDS
            if now >= quiet_until:
                return
            await asyncio.sleep(min(quiet_until, deadline) - now)
