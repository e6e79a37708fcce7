"""OpenTelemetry traces: one server span per RPC, on only when asked for.

`RECALLR_OTEL_ENABLED=1` turns tracing on if the `otel` extra is installed. Spans
are exported over OTLP/HTTP to the endpoint the standard `OTEL_EXPORTER_OTLP_*`
variables name (by default a collector on localhost:4318). A caller's W3C trace
context (`traceparent` metadata, as meshes and instrumented clients send it)
becomes the parent of the call's span, so a trace crosses the server.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import grpc

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.trace import Span

log = logging.getLogger("recallr.tracing")

SERVICE_NAME = "recallr-server"
# The codes that mark a server span as failed in OpenTelemetry's gRPC conventions; the
# others (NOT_FOUND, INVALID_ARGUMENT...) are the caller's doing, not the server's.
_SERVER_ERRORS = frozenset(
    {
        grpc.StatusCode.UNKNOWN,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DATA_LOSS,
    }
)

_provider: TracerProvider | None = None


def enable() -> None:
    """Starts exporting spans, or warns when the `otel` extra is missing."""
    global _provider
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        log.warning("RECALLR_OTEL_ENABLED is set but the otel extra is not installed; no traces")
        return
    provider = TracerProvider(resource=Resource.create({"service.name": SERVICE_NAME}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    _provider = provider


def disable() -> None:
    """Exports the spans still queued and stops tracing."""
    global _provider
    if _provider is not None:
        _provider.shutdown()
        _provider = None


class RpcSpan:
    """A call's span, or nothing while tracing is off."""

    def __init__(self, span: Span | None) -> None:
        self._span = span

    def finish(self, code: grpc.StatusCode, reason: str) -> None:
        if self._span is None:
            return
        from opentelemetry.trace import Status, StatusCode

        self._span.set_attribute("rpc.grpc.status_code", code.value[0])
        if reason:
            self._span.set_attribute("recallr.error_reason", reason)
        if code in _SERVER_ERRORS:
            self._span.set_status(Status(StatusCode.ERROR, code.name))


@contextmanager
def rpc_span(full_method: str, metadata: Iterable[tuple[str, str | bytes]]) -> Iterator[RpcSpan]:
    """Spans the block as the server side of `full_method` (`package.Service/Method`)."""
    if _provider is None:
        yield RpcSpan(None)
        return
    from opentelemetry import propagate
    from opentelemetry.trace import SpanKind

    service, _, method = full_method.partition("/")
    parent = propagate.extract({k: v for k, v in metadata if isinstance(v, str)})
    tracer = _provider.get_tracer("recallr_server")
    with tracer.start_as_current_span(
        full_method,
        context=parent,
        kind=SpanKind.SERVER,
        attributes={"rpc.system": "grpc", "rpc.service": service, "rpc.method": method},
        record_exception=False,
        set_status_on_exception=False,
    ) as span:
        yield RpcSpan(span)
