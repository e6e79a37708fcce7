"""Assembles the gRPC server: auth and error handling, servicers, health, reflection."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta

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
from recallr_server import metrics, tracing, transport
from recallr_server.api.auth import Authenticator
from recallr_server.api.categories import CategoryServicer
from recallr_server.api.context import ContextServicer
from recallr_server.api.handlers import HandlerFactory
from recallr_server.api.memories import MemoryServicer
from recallr_server.api.merge_conflicts import MergeConflictServicer
from recallr_server.api.sessions import SessionServicer
from recallr_server.api.tail import MessageSignal
from recallr_server.api.users import UserServicer
from recallr_server.config import Settings
from recallr_server.engine.embeddings import Embedder, MiniLMEmbedder
from recallr_server.engine.ingest.processing import SessionProcessor
from recallr_server.engine.ingest.resolution import ConflictResolver
from recallr_server.engine.ingest.worker import Worker
from recallr_server.engine.provider.llm import (
    ChatModel,
    EmbeddingSettings,
    LLMSettings,
    OpenAICompatibleChat,
    OpenAICompatibleEmbedder,
)
from recallr_server.engine.recall.index import IndexCache
from recallr_server.engine.recall.recaller import ContextRecaller
from recallr_server.health import DatabaseHealth
from recallr_server.store import models
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
    drain_seconds: float
    database_health: DatabaseHealth
    metrics_server: metrics.MetricsServer | None
    worker: Worker

    async def stop(self) -> None:
        await self.health.enter_graceful_shutdown()
        await self.database_health.stop()
        await asyncio.sleep(self.drain_seconds)
        self.signal.close()
        await self.server.stop(self.grace_seconds)
        await self.worker.stop()
        await self.db.dispose()
        if self.metrics_server is not None:
            self.metrics_server.stop()
        tracing.disable()
        log.info("stopped")

    async def wait(self) -> None:
        await self.server.wait_for_termination()


@dataclass(frozen=True)
class Models:
    """The embedder, and the chat model when an LLM is configured (else local methods)."""

    embedder: Embedder
    chat: ChatModel | None


def load_models() -> Models:
    """Reads the provider settings from the environment; never downloads anything."""
    embedding = EmbeddingSettings.from_env()
    llm = LLMSettings.from_env()
    return Models(
        OpenAICompatibleEmbedder(embedding) if embedding else MiniLMEmbedder.load(),
        OpenAICompatibleChat(llm) if llm else None,
    )


def build_worker(db: Database, settings: Settings, engine_models: Models) -> Worker:
    embedder = engine_models.embedder
    return Worker(
        db,
        {
            models.JobKind.PROCESS_SESSION: SessionProcessor(db, embedder, engine_models.chat),
            models.JobKind.RESOLVE_MERGE_CONFLICT: ConflictResolver(db, embedder),
        },
        concurrency=max(settings.workers, 1),
        lease=timedelta(seconds=settings.job_lease_seconds),
    )


async def start(settings: Settings) -> RecallrServer:
    """Starts serving on `settings.listen` over an already migrated database."""
    db = Database(settings.database_url)
    signal = MessageSignal()
    # Loaded before serving, so the first processed session pays no start-up cost.
    engine_models = await asyncio.to_thread(load_models)
    # A remote embedder of unconfigured size asks the provider: not on the event loop.
    dimensions = await asyncio.to_thread(lambda: engine_models.embedder.dimensions)
    worker = build_worker(db, settings, engine_models)
    factory = HandlerFactory(Authenticator(db, settings.auth_cache_seconds))
    servicers: dict[str, object] = {
        "UserService": UserServicer(db),
        "SessionService": SessionServicer(
            db, signal, settings.tail_poll_interval_seconds, worker.wake
        ),
        "MemoryService": MemoryServicer(db),
        "MergeConflictService": MergeConflictServicer(db, worker.wake),
        "ContextService": ContextServicer(
            ContextRecaller(
                db,
                engine_models.embedder,
                IndexCache(dimensions),
                engine_models.chat,
            )
        ),
        "CategoryService": CategoryServicer(db),
    }
    server = grpc.aio.server(options=transport.server_options(settings))
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
    port = transport.bind(server, settings)
    metrics_server = metrics.serve(settings.metrics_listen) if settings.metrics_listen else None
    if metrics_server is not None:
        log.info("metrics on port %d", metrics_server.port)
    if settings.otel_enabled:
        tracing.enable()
    await server.start()
    database_health = DatabaseHealth(
        health, [s.full_name for s in SERVICES], db, settings.health_probe_seconds
    )
    # Workers first: SERVING is announced only once everything is ready.
    if settings.workers > 0:
        worker.start()
    await database_health.check()
    database_health.start()
    log.info("serving on port %d", port)
    return RecallrServer(
        server,
        port,
        db,
        health,
        signal,
        settings.shutdown_grace_seconds,
        settings.shutdown_drain_seconds,
        database_health,
        metrics_server,
        worker,
    )


async def serve_until_signalled(settings: Settings, stop: asyncio.Event) -> None:
    running = await start(settings)
    await stop.wait()
    log.info("shutting down; draining for up to %.0fs", settings.shutdown_grace_seconds)
    await running.stop()
