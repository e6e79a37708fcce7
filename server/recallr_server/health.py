"""Health that tells the truth: SERVING only while the database answers.

A replica whose database is unreachable fails every call, so it reports
NOT_SERVING for every service and a mesh or load balancer routes around it
until a later check succeeds. Shutdown is final: once the servicer has
entered graceful shutdown it ignores the probe's updates.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from grpc_health.v1 import health_pb2
from grpc_health.v1._async import HealthServicer

from recallr_server.store.database import Database

log = logging.getLogger("recallr.health")

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class DatabaseHealth:
    """Checks the database every `interval` seconds and sets every service's status."""

    def __init__(
        self,
        health: HealthServicer,
        services: Sequence[str],
        db: Database,
        interval: float,
    ) -> None:
        self._health = health
        # "" is the whole server, as grpc-health-probe and most meshes ask by default.
        self._services = ["", *services]
        self._db = db
        self._interval = interval
        self._healthy: bool | None = None
        self._task: asyncio.Task[None] | None = None

    async def check(self) -> bool:
        """One check; a database that does not answer within the interval has failed."""
        try:
            async with asyncio.timeout(self._interval):
                await self._db.ping()
        except Exception as error:
            if self._healthy is not False:
                log.warning(
                    "database check failed, NOT_SERVING: %s", str(error) or type(error).__name__
                )
            healthy = False
        else:
            if self._healthy is False:
                log.info("database answers again, SERVING")
            healthy = True
        self._healthy = healthy
        for service in self._services:
            await self._health.set(service, SERVING if healthy else NOT_SERVING)
        return healthy

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="database-health")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.check()
