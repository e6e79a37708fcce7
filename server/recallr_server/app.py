"""Assembles the gRPC server: auth and error handling, servicers, health, reflection."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import grpc
from google.protobuf.descriptor import ServiceDescriptor
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection

from recallr.v1 import (
    category_service_pb2,
    context_service_pb2,
    memory_service_pb2,
    merge_conflict_service_pb2,
    session_service_pb2,
    user_service_pb2,
)
from recallr_server.api.auth import Authenticator
from recallr_server.api.categories import CategoryServicer
from recallr_server.api.handlers import HandlerFactory
from recallr_server.api.memories import MemoryServicer
from recallr_server.api.merge_conflicts import MergeConflictServicer
from recallr_server.api.sessions import SessionServicer
from recallr_server.api.tail import MessageSignal
from recallr_server.api.users import UserServicer
from recallr_server.config import Settings
from recallr_server.store.database import Database

log = logging.getLogger("recallr.server")


def _service(module: object, name: str) -> ServiceDescriptor:
    descriptor: ServiceDescriptor = module.DESCRIPTOR.services_by_name[name]  # type: ignore[attr-defined]
    return descriptor


SERVICES: tuple[ServiceDescriptor, ...] = (
    _service(user_service_pb2, "UserService"),
    _service(session_service_pb2, "SessionService"),
    _service(memory_service_pb2, "MemoryService"),
    _service(merge_conflict_service_pb2, "MergeConflictService"),
    _service(context_service_pb2, "ContextService"),
    _service(category_service_pb2, "CategoryService"),
)


@dataclass
class RecallrServer:
    """A started server. `stop()` drains it: NOT_SERVING, grace period, dispose."""

    server: grpc.aio.Server
    port: int
    db: Database
    health: HealthServicer
    signal: MessageSignal
    grace_seconds: float

    async def stop(self) -> None:
        await self.health.enter_graceful_shutdown()
        self.signal.close()
        await self.server.stop(self.grace_seconds)
        await self.db.dispose()
        log.info("stopped")

    async def wait(self) -> None:
        await self.server.wait_for_termination()


async def start(settings: Settings) -> RecallrServer:
    """Starts serving on `settings.listen` over an already migrated database."""
    db = Database(settings.database_url)
    signal = MessageSignal()
    factory = HandlerFactory(Authenticator(db, settings.auth_cache_seconds))
    servicers: dict[str, object] = {
        "UserService": UserServicer(db),
        "SessionService": SessionServicer(db, signal, settings.tail_poll_interval_seconds),
        "MemoryService": MemoryServicer(db),
        "MergeConflictService": MergeConflictServicer(db),
        "ContextService": object(),
        "CategoryService": CategoryServicer(db),
    }
    server = grpc.aio.server()
    server.add_generic_rpc_handlers(
        [factory.service_handler(s, servicers[s.name]) for s in SERVICES]
    )
    health = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    reflection.enable_server_reflection(
        [s.full_name for s in SERVICES]
        + [health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME],
        server,
    )
    port = server.add_insecure_port(settings.listen)
    await server.start()
    for name in ["", *(s.full_name for s in SERVICES)]:
        await health.set(name, health_pb2.HealthCheckResponse.SERVING)
    log.info("serving on port %d", port)
    return RecallrServer(server, port, db, health, signal, settings.shutdown_grace_seconds)


async def serve_until_signalled(settings: Settings, stop: asyncio.Event) -> None:
    running = await start(settings)
    await stop.wait()
    log.info("shutting down; draining for up to %.0fs", settings.shutdown_grace_seconds)
    await running.stop()
