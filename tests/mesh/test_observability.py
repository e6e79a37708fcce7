"""Observability: Prometheus metrics and OpenTelemetry traces when asked for, and logs that
never carry API keys or message content."""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import grpc
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from recallr.v1 import session_pb2, user_pb2
from recallr.v1 import session_service_pb2 as sessions_pb
from recallr.v1 import user_service_pb2 as users_pb
from recallr_server.config import Settings
from recallr_server.logs import JsonFormatter
from tests.api.seed import add_message, create_session, create_user
from tests.api.wire import Stubs, fails, stubs
from tests.conftest import ServerThread, Tenant, new_tenant
from tests.mesh.calls import call_outcome
from tests.mesh.processes import ServeProcess
from tests.support.metrics import labels, samples

CREATE_USER = "recallr.v1.UserService.CreateUser"
GET_USER = "recallr.v1.UserService.GetUser"
TAIL = "recallr.v1.SessionService.TailMessages"


def server_settings(directory: Path) -> Settings:
    return replace(
        Settings(),
        database_url=f"sqlite:///{directory / 'recallr.db'}",
        listen="127.0.0.1:0",
        shutdown_grace_seconds=1,
    )


@pytest.fixture
def metered(tmp_path: Path) -> Iterator[tuple[Tenant, int]]:
    settings = replace(server_settings(tmp_path), metrics_listen="127.0.0.1:0")
    server = ServerThread(settings)
    assert server.running.metrics_server is not None
    yield new_tenant(server), server.running.metrics_server.port
    server.stop()


def test_metrics_count_calls_by_method_code_and_reason_and_time_them(
    metered: tuple[Tenant, int],
) -> None:
    tenant, port = metered
    with grpc.insecure_channel(tenant.target) as channel:
        api = stubs(channel)
        create_user(api, tenant, "ada")
        fails(api.users.GetUser, users_pb.GetUserRequest(user_id="nobody"), tenant.metadata)
    seen = samples(port)
    assert (
        seen[("recallr_rpc_requests_total", labels(method=CREATE_USER, code="OK", reason=""))] == 1
    )
    not_found = labels(method=GET_USER, code="NOT_FOUND", reason="USER_NOT_FOUND")
    assert seen[("recallr_rpc_requests_total", not_found)] == 1
    assert seen[("recallr_rpc_duration_seconds_count", labels(method=CREATE_USER))] == 1
    assert seen[("recallr_rpc_duration_seconds_sum", labels(method=CREATE_USER))] > 0


def test_metrics_show_streams_while_they_are_open(metered: tuple[Tenant, int]) -> None:
    tenant, port = metered
    active = ("recallr_rpc_active_streams", labels(method=TAIL))
    with grpc.insecure_channel(tenant.target) as channel:
        api = stubs(channel)
        create_user(api, tenant, "ada")
        stream = api.sessions.TailMessages(
            sessions_pb.TailMessagesRequest(user_id="ada", n=0, follow=True),
            metadata=tenant.metadata,
            timeout=10,
        )
        next(stream)
        assert samples(port)[active] == 1
        stream.cancel()
    deadline = time.monotonic() + 5
    while samples(port)[active] != 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert samples(port)[active] == 0


def test_the_job_worker_publishes_queue_depth_and_job_durations(tmp_path: Path) -> None:
    # A process of its own: the metrics registry is per process, and other servers in
    # the test process run workers that would publish their own queue depths into it.
    server = ServeProcess(tmp_path, {"RECALLR_METRICS_LISTEN": "127.0.0.1:0"})
    try:
        port = int(server.wait_for_log("metrics on port ").rsplit(" ", 1)[1])
        with grpc.insecure_channel(server.target) as channel:
            api = stubs(channel)
            api.users.CreateUser(
                users_pb.CreateUserRequest(user=user_pb2.User(user_id="ada")),
                metadata=server.metadata,
            )
            session = api.sessions.CreateSession(
                sessions_pb.CreateSessionRequest(user_id="ada"), metadata=server.metadata
            ).session
            api.sessions.AddMessage(
                sessions_pb.AddMessageRequest(
                    user_id="ada",
                    session_id=session.session_id,
                    message=session_pb2.Message(
                        role=session_pb2.MESSAGE_ROLE_USER, content="I live in Porto."
                    ),
                ),
                metadata=server.metadata,
            )
            api.sessions.ProcessSession(
                sessions_pb.ProcessSessionRequest(user_id="ada", session_id=session.session_id),
                metadata=server.metadata,
            )
        finished = (
            "recallr_job_duration_seconds_count",
            labels(kind="process_session", outcome="done"),
        )
        deadline = time.monotonic() + 30
        while samples(port).get(finished, 0) < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        seen = samples(port)
        assert seen[finished] == 1
        assert seen[("recallr_jobs_queue_depth", labels())] == 0
    finally:
        server.close()


class Collector(ThreadingHTTPServer):
    """An OTLP/HTTP trace receiver on loopback that keeps what it is sent."""

    def __init__(self) -> None:
        self.exports: list[ExportTraceServiceRequest] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                collector.exports.append(ExportTraceServiceRequest.FromString(body))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        super().__init__(("127.0.0.1", 0), Handler)

    def spans(self) -> dict[str, Span]:
        return {
            span.name: span
            for export in self.exports
            for resource in export.resource_spans
            for scope in resource.scope_spans
            for span in scope.spans
        }


@pytest.fixture
def collector() -> Iterator[Collector]:
    server = Collector()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def attributes(span: Span) -> dict[str, object]:
    values: dict[str, object] = {}
    for attribute in span.attributes:
        kind = attribute.value.WhichOneof("value")
        values[attribute.key] = getattr(attribute.value, kind) if kind else None
    return values


def test_traces_have_a_server_span_per_call_continuing_the_callers_trace(
    tmp_path: Path, collector: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint = f"http://127.0.0.1:{collector.server_port}/v1/traces"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", endpoint)
    server = ServerThread(replace(server_settings(tmp_path), otel_enabled=True))
    trace_id, parent_id = uuid.uuid4().hex, uuid.uuid4().hex[:16]
    try:
        tenant = new_tenant(server)
        with grpc.insecure_channel(tenant.target) as channel:
            api = stubs(channel)
            traced = (*tenant.metadata, ("traceparent", f"00-{trace_id}-{parent_id}-01"))
            api.users.CreateUser(
                users_pb.CreateUserRequest(user=user_pb2.User(user_id="ada")), metadata=traced
            )
            fails(api.users.GetUser, users_pb.GetUserRequest(user_id="nobody"), tenant.metadata)
    finally:
        server.stop()  # which exports the spans still queued

    spans = collector.spans()
    created = spans["recallr.v1.UserService/CreateUser"]
    assert created.kind == Span.SPAN_KIND_SERVER
    assert (created.trace_id.hex(), created.parent_span_id.hex()) == (trace_id, parent_id)
    assert attributes(created) == {
        "rpc.system": "grpc",
        "rpc.service": "recallr.v1.UserService",
        "rpc.method": "CreateUser",
        "rpc.grpc.status_code": 0,
    }
    missing = spans["recallr.v1.UserService/GetUser"]
    assert missing.trace_id.hex() != trace_id
    assert attributes(missing)["rpc.grpc.status_code"] == grpc.StatusCode.NOT_FOUND.value[0]
    assert attributes(missing)["recallr.error_reason"] == "USER_NOT_FOUND"


def test_logs_carry_request_ids_but_never_api_keys_or_message_content(
    tenant: Tenant, channel: grpc.Channel, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    content = f"my bank PIN is {uuid.uuid4().hex}"
    wrong_key = f"rk_{uuid.uuid4().hex}"
    api: Stubs = stubs(channel)
    create_user(api, tenant, "ada")
    session_id = create_session(api, tenant, "ada").session_id
    add_message(api, tenant, "ada", session_id, content)
    listed = api.sessions.ListMessages(
        sessions_pb.ListMessagesRequest(user_id="ada", session_id=session_id),
        metadata=tenant.metadata,
    )
    assert [m.content for m in listed.messages] == [content]
    impostor = (
        ("authorization", f"Bearer {wrong_key}"),
        ("x-recallr-project-id", tenant.project_id),
    )
    assert fails(api.users.GetUser, users_pb.GetUserRequest(user_id="ada"), impostor).reason == (
        "INVALID_API_KEY"
    )

    assert call_outcome(caplog, GET_USER) == "INVALID_API_KEY"
    formatter = JsonFormatter()
    lines = [formatter.format(record) for record in caplog.records]
    calls = [json.loads(line) for line in lines if '"rpc_method"' in line]
    assert {c["outcome"] for c in calls} == {"OK", "INVALID_API_KEY"}
    assert all(c["request_id"] for c in calls)
    for secret in (tenant.api_key, wrong_key, content):
        assert not [line for line in lines if secret in line]
