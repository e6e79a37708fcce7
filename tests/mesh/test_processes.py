"""`serve` on every core: serving processes on one port, a worker process, one supervisor."""

from __future__ import annotations

import os
import signal
import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path

import grpc
import httpx
from prometheus_client.parser import text_string_to_metric_families

from recallr.v1 import session_pb2, user_pb2
from recallr.v1 import session_service_pb2 as sessions_pb
from recallr.v1 import user_service_pb2 as users_pb
from recallr_server.config import Settings
from recallr_server.supervisor import process_count
from tests.api.wire import stubs
from tests.mesh.processes import ServeProcess
from tests.mesh.test_shutdown import Writer, stored_message_ids

PROCESSES = 2
CREATE_USER = "recallr.v1.UserService.CreateUser"


def command_line(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_text().split("\0")


def niceness(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text()


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not {what} within {timeout}s"
        time.sleep(0.1)


def created_users(port: int) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "recallr_rpc_requests_total" and sample.labels["method"] == CREATE_USER
    )


def metrics_ports(server: ServeProcess, count: int) -> list[int]:
    wait_for(lambda: len(logged_ports(server)) >= count, f"{count} metrics ports logged")
    return logged_ports(server)


def logged_ports(server: ServeProcess) -> list[int]:
    return [
        int(r["message"].rsplit(" ", 1)[1])
        for r in server.log_records()
        if r["message"].startswith("metrics on port ")
    ]


def test_by_default_serve_runs_one_serving_process_per_core() -> None:
    assert process_count(Settings()) == os.cpu_count()
    assert process_count(Settings(processes=3)) == 3


def test_serving_processes_share_one_port_and_the_worker_runs_apart_at_lower_priority(
    serve_process: Callable[..., ServeProcess],
) -> None:
    server = serve_process(
        RECALLR_PROCESSES=str(PROCESSES),
        RECALLR_METRICS_LISTEN="127.0.0.1:0",
        RECALLR_WORKER_NICE="7",
    )
    wait_for(lambda: len(server.children()) == PROCESSES + 1, "every process started")
    roles = {pid: command_line(pid)[3] for pid in server.children()}
    assert sorted(roles.values()) == ["serve"] * PROCESSES + ["worker"]
    assert [niceness(pid) for pid, role in roles.items() if role == "worker"] == [7]
    ports = metrics_ports(server, PROCESSES + 1)

    calls = 40
    for n in range(calls):
        # A channel of its own is a connection of its own, which the kernel gives to
        # one of the serving processes.
        options = [("grpc.use_local_subchannel_pool", 1)]
        with grpc.insecure_channel(server.target, options=options) as channel:
            stubs(channel).users.CreateUser(
                users_pb.CreateUserRequest(user=user_pb2.User(user_id=f"user{n}")),
                metadata=server.metadata,
            )
    served = [created_users(port) for port in ports]
    assert sum(served) == calls
    assert sum(1 for count in served if count) == PROCESSES


def http_requests(port: int) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "recallr_http_requests_total"
    )


def test_serving_processes_share_the_http_port_too(
    serve_process: Callable[..., ServeProcess],
) -> None:
    server = serve_process(
        RECALLR_PROCESSES=str(PROCESSES),
        RECALLR_WORKERS="0",
        RECALLR_API_KEY=f"rai_{uuid.uuid4().hex}",
        RECALLR_HTTP_LISTEN="127.0.0.1:0",
        RECALLR_METRICS_LISTEN="127.0.0.1:0",
    )
    ports = metrics_ports(server, PROCESSES)
    wait_for(lambda: len(logged_http_ports(server)) == PROCESSES, "every HTTP API serving")
    [http_port] = set(logged_http_ports(server))
    headers = {"X-Recallr-Api-Key": server.api_key, "X-Recallr-Project-Id": server.project_id}
    calls = 40
    for n in range(calls):
        # A client of its own is a connection of its own, given to one of the processes.
        with httpx.Client(base_url=f"http://127.0.0.1:{http_port}", headers=headers) as http:
            created = http.post("/api/v1/users", json={"custom_user_id": f"user{n}"})
            assert created.status_code == 201
    served = [http_requests(port) for port in ports]
    assert sum(served) == calls
    assert sum(1 for count in served if count) == PROCESSES


def logged_http_ports(server: ServeProcess) -> list[int]:
    return [
        int(r["message"].rsplit(" ", 1)[1])
        for r in server.log_records()
        if r["message"].startswith("http api on port ")
    ]


def test_sigterm_drains_every_process_without_losing_an_acknowledged_message(
    serve_process: Callable[..., ServeProcess],
) -> None:
    server = serve_process(RECALLR_PROCESSES=str(PROCESSES), RECALLR_SHUTDOWN_GRACE_SECONDS="5")
    with grpc.insecure_channel(server.target) as channel:
        api = stubs(channel)
        api.users.CreateUser(
            users_pb.CreateUserRequest(user=user_pb2.User(user_id="ada")), metadata=server.metadata
        )
        session_id = api.sessions.CreateSession(
            sessions_pb.CreateSessionRequest(user_id="ada", session=session_pb2.Session()),
            metadata=server.metadata,
        ).session.session_id
    writers = [Writer(server, session_id, f"client{n}") for n in range(8)]
    for writer in writers:
        writer.start()
    wait_for(lambda: min(len(w.acknowledged) for w in writers) >= 10, "writing")
    children = server.children()

    server.terminate()
    assert server.wait(timeout=30) == 0
    for writer in writers:
        writer.join(timeout=10)

    assert not any(alive(pid) for pid in children)
    assert {w.failure for w in writers} == {grpc.StatusCode.UNAVAILABLE}, [
        w.detail for w in writers
    ]
    acknowledged = {message_id for w in writers for message_id in w.acknowledged}
    assert len(acknowledged) >= 80
    assert stored_message_ids(server) == acknowledged


def test_a_serving_process_that_dies_is_started_again(
    serve_process: Callable[..., ServeProcess],
) -> None:
    server = serve_process(RECALLR_PROCESSES=str(PROCESSES), RECALLR_WORKERS="0")
    wait_for(lambda: len(server.children()) == PROCESSES, "every process started")
    [victim, survivor] = server.children()
    os.kill(victim, signal.SIGKILL)
    wait_for(
        lambda: len(server.children()) == PROCESSES and victim not in server.children(),
        "the process started again",
    )
    assert survivor in server.children()


def test_serving_processes_die_with_their_supervisor(
    serve_process: Callable[..., ServeProcess],
) -> None:
    server = serve_process(RECALLR_PROCESSES=str(PROCESSES))
    wait_for(lambda: len(server.children()) == PROCESSES + 1, "every process started")
    children = server.children()
    server.close()  # SIGKILL: no chance to stop them itself
    wait_for(lambda: not any(alive(pid) for pid in children), "every process gone", 10)
