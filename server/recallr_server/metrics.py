"""Prometheus metrics, served on their own port only when `RECALLR_METRICS_LISTEN` is set.

Callers record unconditionally: while metrics are off every function here does
nothing, so neither the RPC handlers nor the job worker check whether they are on.
The job worker reports through two hooks:

- `job_finished(kind, seconds, outcome)` once per job run, whatever its outcome
  (`recallr_job_duration_seconds{kind,outcome}`);
- `set_queue_depth(n)` whenever it learns how many jobs wait to be claimed
  (`recallr_jobs_queue_depth`).

The open-connection count is not recorded but read at each scrape (`Connections`).
The chat model's client reports each request by the response format it asked for and its
outcome (`recallr_llm_chat_requests_total{response_format,outcome}`), and when its circuit
breaker opens or closes (`recallr_llm_circuit_open`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from wsgiref.simple_server import WSGIServer

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    ProcessCollector,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily, Metric

# Jobs embed and consolidate, taking seconds to minutes rather than milliseconds.
JOB_BUCKETS = (0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)


class _Recorder:
    """Metrics off: every recording is dropped."""

    def rpc_finished(self, method: str, code: str, reason: str, seconds: float) -> None:
        pass

    def http_finished(self, route: str, status: int, reason: str, seconds: float) -> None:
        pass

    def stream_opened(self, method: str) -> None:
        pass

    def stream_closed(self, method: str) -> None:
        pass

    def job_finished(self, kind: str, seconds: float, outcome: str) -> None:
        pass

    def set_queue_depth(self, depth: int) -> None:
        pass

    def llm_chat_request(self, response_format: str, outcome: str) -> None:
        pass

    def set_llm_circuit_open(self, is_open: bool) -> None:
        pass


class _PrometheusRecorder(_Recorder):
    def __init__(self, registry: CollectorRegistry) -> None:
        self._requests = Counter(
            "recallr_rpc_requests",
            "Finished RPCs by method, status code and error reason (empty when OK).",
            ["method", "code", "reason"],
            registry=registry,
        )
        self._duration = Histogram(
            "recallr_rpc_duration_seconds",
            "RPC handling time, from the call's arrival to its status, by method.",
            ["method"],
            registry=registry,
        )
        self._http_requests = Counter(
            "recallr_http_requests",
            "Finished HTTP API requests by route, status and error reason (empty on success).",
            ["route", "status", "reason"],
            registry=registry,
        )
        self._http_duration = Histogram(
            "recallr_http_request_duration_seconds",
            "HTTP API request handling time, from arrival to the last byte sent, by route.",
            ["route"],
            registry=registry,
        )
        self._streams = Gauge(
            "recallr_rpc_active_streams",
            "Server-streaming RPCs and HTTP event streams open now, by method or route.",
            ["method"],
            registry=registry,
        )
        self._job_duration = Histogram(
            "recallr_job_duration_seconds",
            "Background job run time by kind and outcome.",
            ["kind", "outcome"],
            buckets=JOB_BUCKETS,
            registry=registry,
        )
        self._queue_depth = Gauge(
            "recallr_jobs_queue_depth",
            "Jobs waiting to be claimed, as last seen by this process's worker.",
            registry=registry,
        )
        self._llm_requests = Counter(
            "recallr_llm_chat_requests",
            "Chat completion requests to the model server, by the response format asked for "
            "(json_schema, json_object, prompt) and outcome (ok; refused: the server does "
            "not take that format; failed: no answer after retries).",
            ["response_format", "outcome"],
            registry=registry,
        )
        self._llm_circuit_open = Gauge(
            "recallr_llm_circuit_open",
            "1 while the chat model is not asked because its server kept failing, else 0.",
            registry=registry,
        )

    def rpc_finished(self, method: str, code: str, reason: str, seconds: float) -> None:
        self._requests.labels(method, code, reason).inc()
        self._duration.labels(method).observe(seconds)

    def http_finished(self, route: str, status: int, reason: str, seconds: float) -> None:
        self._http_requests.labels(route, str(status), reason).inc()
        self._http_duration.labels(route).observe(seconds)

    def stream_opened(self, method: str) -> None:
        self._streams.labels(method).inc()

    def stream_closed(self, method: str) -> None:
        self._streams.labels(method).dec()

    def job_finished(self, kind: str, seconds: float, outcome: str) -> None:
        self._job_duration.labels(kind, outcome).observe(seconds)

    def set_queue_depth(self, depth: int) -> None:
        self._queue_depth.set(depth)

    def llm_chat_request(self, response_format: str, outcome: str) -> None:
        self._llm_requests.labels(response_format, outcome).inc()

    def set_llm_circuit_open(self, is_open: bool) -> None:
        self._llm_circuit_open.set(int(is_open))


_recorder = _Recorder()


def rpc_finished(method: str, code: str, reason: str, seconds: float) -> None:
    _recorder.rpc_finished(method, code, reason, seconds)


def http_finished(route: str, status: int, reason: str, seconds: float) -> None:
    """One HTTP API request; `route` is its method and path template."""
    _recorder.http_finished(route, status, reason, seconds)


@contextmanager
def open_stream(method: str) -> Iterator[None]:
    """Counts a server-streaming RPC as active while the block runs."""
    recorder = _recorder
    recorder.stream_opened(method)
    try:
        yield
    finally:
        recorder.stream_closed(method)


def job_finished(kind: str, seconds: float, outcome: str) -> None:
    _recorder.job_finished(kind, seconds, outcome)


def set_queue_depth(depth: int) -> None:
    _recorder.set_queue_depth(depth)


@dataclass(frozen=True)
class Connections:
    """The gRPC server's connections: `count()` those open now, against `limit`."""

    count: Callable[[], int]
    limit: int

    def collect(self) -> Iterable[Metric]:
        yield GaugeMetricFamily(
            "recallr_grpc_open_connections",
            "TCP connections to the gRPC port this process holds a descriptor for, whatever"
            " their state (handshaking, serving, idle, closing).",
            value=self.count(),
        )
        yield GaugeMetricFamily(
            "recallr_grpc_max_connections",
            "Connections the gRPC server accepts at once; more are closed on arrival.",
            value=self.limit,
        )


def llm_chat_request(response_format: str, outcome: str) -> None:
    _recorder.llm_chat_request(response_format, outcome)


def set_llm_circuit_open(is_open: bool) -> None:
    _recorder.set_llm_circuit_open(is_open)


@dataclass
class MetricsServer:
    """The metrics endpoint; `stop()` closes it and turns recording off again."""

    port: int
    _http: WSGIServer
    _thread: threading.Thread

    def stop(self) -> None:
        global _recorder
        _recorder = _Recorder()
        self._http.shutdown()
        self._http.server_close()
        self._thread.join()


def serve(listen: str, connections: Connections | None = None) -> MetricsServer:
    """Turns recording on and serves `/metrics` on `listen` (host:port; port 0 picks one)."""
    global _recorder
    host, _, port = listen.rpartition(":")
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    GCCollector(registry=registry)
    if connections is not None:
        registry.register(connections)
    http, thread = start_http_server(int(port), addr=host.strip("[]"), registry=registry)
    _recorder = _PrometheusRecorder(registry)
    return MetricsServer(http.server_port, http, thread)
