"""Assembles the gRPC server: auth and error handling, servicers, health, reflection.

This is the composition root: the one place that knows the store and the engine behind
the domain's ports, and wires them in.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import timedelta

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer
from grpc_reflection.v1alpha import reflection

from recallr_server import metrics, tracing, transport
from recallr_server.api import services
from recallr_server.api.admission import Admission
from recallr_server.api.categories import CategoryServicer
from recallr_server.api.context import ContextServicer
from recallr_server.api.handlers import HandlerFactory, ServiceMethods
from recallr_server.api.memories import MemoryServicer
from recallr_server.api.merge_conflicts import MergeConflictServicer
from recallr_server.api.paging import PageTokens
from recallr_server.api.sessions import SessionServicer
from recallr_server.api.users import UserServicer
from recallr_server.config import Settings
from recallr_server.domain.appends import MessageAppender
from recallr_server.domain.auth import Authenticator
from recallr_server.domain.bulk import BulkWrites
from recallr_server.domain.categories import Categories
from recallr_server.domain.context import ContextRecall, Recaller
from recallr_server.domain.memories import Memories
from recallr_server.domain.merge_conflicts import MergeConflicts
from recallr_server.domain.messages import Messages
from recallr_server.domain.ports import UnitOfWork, WorkQueued
from recallr_server.domain.sessions import DEFAULT_MAX_MESSAGES_PER_SESSION, Sessions
from recallr_server.domain.tail import MessageSignal
from recallr_server.domain.transfer import UserTransfer
from recallr_server.domain.users import Users
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
from recallr_server.http import server as http_server
from recallr_server.http.deps import UseCases
from recallr_server.store import models
from recallr_server.store.appends import StoreMessageLog
from recallr_server.store.database import Database
from recallr_server.store.message_feed import MessageFeed
from recallr_server.store.projects import StoreApiKeys
from recallr_server.store.secrets import PAGE_TOKEN_SECRET, shared_secret
from recallr_server.store.unit_of_work import StoreUnitOfWork

log = logging.getLogger("recallr.server")

SERVICES = services.SERVICES


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
    # Revoking through it takes a key out of this replica's cache at once.
    authenticator: Authenticator
    admission: Admission
    appender: MessageAppender
    feed: MessageFeed
    http: http_server.HttpServer | None = None

    async def stop(self) -> None:
        await self.health.enter_graceful_shutdown()
        await self.database_health.stop()
        await asyncio.sleep(self.drain_seconds)
        self.signal.close()
        stopping = time.monotonic()
        await self.admission.refuse_until_quiet(self.grace_seconds)
        grace = max(0.0, self.grace_seconds - (time.monotonic() - stopping))
        # Both APIs drain together, within the same grace period.
        await asyncio.gather(
            self.server.stop(grace),
            *([self.http.stop()] if self.http is not None else []),
        )
        await self.feed.stop()
        await self.appender.close()
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


def units_of_work(db: Database) -> UnitOfWork:
    return StoreUnitOfWork(db)


def message_appender(
    db: Database,
    signal: MessageSignal,
    max_per_session: int = DEFAULT_MAX_MESSAGES_PER_SESSION,
) -> MessageAppender:
    """The one writer of AddMessage's batches on `db` in this process."""
    return MessageAppender(StoreMessageLog(db), signal, max_per_session)


def session_servicer(
    db: Database,
    settings: Settings,
    signal: MessageSignal,
    appender: MessageAppender,
    work_queued: WorkQueued,
    pages: PageTokens,
) -> SessionServicer:
    units = units_of_work(db)
    return SessionServicer(
        Sessions(units, work_queued),
        Messages(units, signal, appender),
        BulkWrites(units, work_queued, signal, settings.max_messages_per_session),
        pages,
    )


def servicers(
    db: Database,
    settings: Settings,
    signal: MessageSignal,
    appender: MessageAppender,
    work_queued: WorkQueued,
    recaller: Recaller,
    pages: PageTokens,
) -> list[ServiceMethods]:
    """Every service of the contract, each registered by its typed protocol."""
    units = units_of_work(db)
    return [
        services.user_service(
            UserServicer(
                Users(units),
                UserTransfer(units, work_queued, settings.max_messages_per_session),
                pages,
            )
        ),
        services.session_service(
            session_servicer(db, settings, signal, appender, work_queued, pages)
        ),
        services.memory_service(MemoryServicer(Memories(units), pages)),
        services.merge_conflict_service(
            MergeConflictServicer(MergeConflicts(units, work_queued), pages)
        ),
        services.context_service(ContextServicer(ContextRecall(recaller))),
        services.category_service(CategoryServicer(Categories(units))),
    ]


def http_use_cases(
    db: Database,
    authenticator: Authenticator,
    signal: MessageSignal,
    appender: MessageAppender,
    work_queued: WorkQueued,
    recaller: Recaller,
) -> UseCases:
    """The use cases the HTTP API calls: the same as the servicers', over the same store."""
    units = units_of_work(db)
    return UseCases(
        authenticator,
        Users(units),
        Sessions(units, work_queued),
        Messages(units, signal, appender),
        Memories(units),
        MergeConflicts(units, work_queued),
        ContextRecall(recaller),
    )


async def _start_http(settings: Settings, cases: UseCases) -> http_server.HttpServer | None:
    if not settings.http_listen:
        return None
    started = await http_server.start(settings, cases, settings.http_listen)
    log.info("http api on port %d", started.port)
    return started


def _enable_health_and_reflection(server: grpc.aio.Server) -> HealthServicer:
    health = HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    reflection.enable_server_reflection(
        [s.full_name for s in SERVICES]
        + [health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME],
        server,
    )
    return health


def _connections(settings: Settings, port: int) -> metrics.Connections:
    """The connections to gRPC `port`: how many are open, and how many may be."""
    open_files = transport.open_file_limit()
    limit = transport.max_connections(settings, open_files)
    log.info("accepting up to %d connections; open-file limit %d", limit, open_files)
    return metrics.Connections(lambda: transport.open_connections(port), limit)


def _observe(settings: Settings, port: int) -> metrics.MetricsServer | None:
    """Starts what reports on the server from outside: metrics and traces, as configured."""
    connections = _connections(settings, port)
    metrics_server = (
        metrics.serve(settings.metrics_listen, connections) if settings.metrics_listen else None
    )
    if metrics_server is not None:
        log.info("metrics on port %d", metrics_server.port)
    if settings.otel_enabled:
        tracing.enable()
    return metrics_server


def authenticator_of(db: Database, settings: Settings) -> Authenticator:
    return Authenticator(
        StoreApiKeys(db), settings.auth_cache_seconds, settings.auth_failures_per_minute
    )


def _grpc_server(
    settings: Settings, factory: HandlerFactory, services: list[ServiceMethods]
) -> grpc.aio.Server:
    options = transport.server_options(settings) + transport.connection_options(settings)
    server = grpc.aio.server(options=options)
    server.add_generic_rpc_handlers([factory.service_handler(service) for service in services])
    return server


async def start(settings: Settings) -> RecallrServer:
    """Starts serving on `settings.listen` over an already migrated database."""
    db = Database(settings.database_url)
    signal = MessageSignal(settings.max_tails_per_project)
    # One writer of AddMessage's batches, and one feed of other processes' messages.
    appender = message_appender(db, signal, settings.max_messages_per_session)
    feed = MessageFeed(db, signal, settings.tail_poll_interval_seconds)
    # Loaded before serving, so the first processed session pays no start-up cost.
    engine_models = await asyncio.to_thread(load_models)
    # A remote embedder of unconfigured size asks the provider: not on the event loop.
    dimensions = await asyncio.to_thread(lambda: engine_models.embedder.dimensions)
    worker = build_worker(db, settings, engine_models)
    recaller = ContextRecaller(
        db, engine_models.embedder, IndexCache(dimensions), engine_models.chat
    )
    authenticator = authenticator_of(db, settings)
    admission = Admission()
    factory = HandlerFactory(authenticator, admission)
    pages = PageTokens(await shared_secret(db, PAGE_TOKEN_SECRET))
    server = _grpc_server(
        settings, factory, servicers(db, settings, signal, appender, worker.wake, recaller, pages)
    )
    health = _enable_health_and_reflection(server)
    port = transport.bind(server, settings)
    metrics_server = _observe(settings, port)
    await server.start()
    http = await _start_http(
        settings,
        http_use_cases(db, authenticator, signal, appender, worker.wake, recaller),
    )
    database_health = DatabaseHealth(
        health, [s.full_name for s in SERVICES], db, settings.health_probe_seconds
    )
    # Workers first: SERVING is announced only once everything is ready.
    if settings.workers > 0:
        worker.start()
    await database_health.check()
    database_health.start()
    feed.start()
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
        authenticator,
        admission,
        appender,
        feed,
        http,
    )


async def serve_until_signalled(settings: Settings, stop: asyncio.Event) -> None:
    running = await start(settings)
    await stop.wait()
    log.info("shutting down; draining for up to %.0fs", settings.shutdown_grace_seconds)
    await running.stop()
