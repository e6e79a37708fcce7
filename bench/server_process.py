"""Starts real `recallr-server` processes for benchmarks and measures their memory."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

PROJECT_ID = "bench-project"
API_KEY = "rai_bench_key"
SERVER = Path(sys.executable).with_name("recallr-server")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def peak_rss_mib(pid: int) -> float:
    """VmHWM: the most resident memory the process ever had."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def tree_cpu_seconds(pid: int) -> float:
    """CPU time (user and system) used so far by a process and every process under it."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:  # gone
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(tree_cpu_seconds(int(child)) for child in children)


def _wait_serving(target: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    with grpc.insecure_channel(target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            try:
                status = stub.Check(health_pb2.HealthCheckRequest(), timeout=1).status
                if status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                time.sleep(0.1)
    raise TimeoutError(f"server at {target} did not become ready")


@contextlib.contextmanager
def running_server(
    database_url: str,
    *,
    in_process_workers: int,
    worker_processes: int,
    extra_env: Mapping[str, str] | None = None,
    server: Path = SERVER,
    port: int | None = None,
) -> Iterator[tuple[str, list[subprocess.Popen[bytes]]]]:
    """Yields the target and every process (server first) until the block ends; `server`
    may be another checkout's `recallr-server`, for a baseline."""
    port = port or free_port()
    env = {
        **os.environ,
        "RECALLR_DATABASE_URL": database_url,
        "RECALLR_LISTEN": f"127.0.0.1:{port}",
        "RECALLR_PROJECT_ID": PROJECT_ID,
        "RECALLR_API_KEY": API_KEY,
        "RECALLR_WORKERS": str(in_process_workers),
        "RECALLR_LOG_LEVEL": "WARNING",
        **(extra_env or {}),
    }
    processes = [subprocess.Popen([str(server), "serve"], env=env)]
    try:
        _wait_serving(f"127.0.0.1:{port}")
        processes += [
            subprocess.Popen([str(server), "worker"], env=env) for _ in range(worker_processes)
        ]
        yield f"127.0.0.1:{port}", processes
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
