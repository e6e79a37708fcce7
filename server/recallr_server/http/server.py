"""Serves the HTTP API with uvicorn on the gRPC server's event loop.

Signals stay with `recallr-server serve`, which stops this server together with the
gRPC one: uvicorn must not install handlers of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Generator
from dataclasses import dataclass

import uvicorn

from recallr_server.config import Settings
from recallr_server.http import application
from recallr_server.http.deps import UseCases
from recallr_server.http.limits import BodyLimit
from recallr_server.sockets import shared_socket


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def _config(settings: Settings, cases: UseCases, listen: str) -> uvicorn.Config:
    host, _, port = listen.rpartition(":")
    app = BodyLimit(application.build(cases), settings.max_receive_message_bytes)
    return uvicorn.Config(
        app,
        host=host.strip("[]"),
        port=int(port),
        # Logs and signals are the server's own (logs.py, cli.py); the access log would
        # write paths and queries, which carry user ids and filters.
        log_config=None,
        access_log=False,
        lifespan="off",
        timeout_keep_alive=max(1, round(settings.connection_idle_timeout_seconds)),
        timeout_graceful_shutdown=max(1, round(settings.shutdown_grace_seconds)),
        ssl_certfile=settings.tls_cert_file,
        ssl_keyfile=settings.tls_key_file,
        ssl_ca_certs=settings.tls_client_ca_file,
        ssl_cert_reqs=ssl.CERT_REQUIRED if settings.tls_client_ca_file else ssl.CERT_NONE,
    )


@dataclass
class HttpServer:
    """A started HTTP server; `stop()` lets requests in flight finish within the grace."""

    port: int
    _server: _Server
    _task: asyncio.Task[None]

    async def stop(self) -> None:
        self._server.should_exit = True
        await self._task


async def start(settings: Settings, cases: UseCases, listen: str) -> HttpServer:
    server = _Server(_config(settings, cases, listen))
    # As for gRPC (transport.server_options): only the serving processes `serve` started on
    # one port share it; a lone server's port taken by another process is an error.
    shared = [shared_socket(listen)] if settings.process_index is not None else None
    task = asyncio.create_task(server.serve(sockets=shared), name="http-api")
    while not server.started:
        if task.done():
            task.result()  # raises why it could not start (say, the port is taken)
            raise RuntimeError(f"the HTTP API stopped before serving on {listen}")
        await asyncio.sleep(0.01)
    port: int = server.servers[0].sockets[0].getsockname()[1]
    return HttpServer(port, server, task)
