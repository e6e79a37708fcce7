"""The Go and TypeScript example clients pass their own test suites against a real server.

The server runs as a subprocess, as an operator would start it. The examples' dependencies
come from scripts/install-example-deps; a missing toolchain fails these tests rather than
skipping them, so CI cannot pass without exercising both languages.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

ROOT = Path(__file__).resolve().parents[2]
SERVER = Path(sys.executable).parent / "recallr-server"
PROJECT_ID = "polyglot-examples"
API_KEY = "polyglot-examples-key"
STARTUP_TIMEOUT_SECONDS = 60.0
SUITE_TIMEOUT_SECONDS = 600.0


def _free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _wait_until_serving(target: str, server: subprocess.Popen[bytes], log: Path) -> None:
    metadata = (("authorization", f"Bearer {API_KEY}"), ("x-recallr-project-id", PROJECT_ID))
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    with grpc.insecure_channel(target) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while time.monotonic() < deadline:
            if server.poll() is not None:
                pytest.fail(
                    f"recallr-server exited with {server.returncode} while starting:\n"
                    + log.read_text(errors="replace")
                )
            try:
                reply = health.Check(health_pb2.HealthCheckRequest(), timeout=1, metadata=metadata)
            except grpc.RpcError:
                reply = None
            if reply is not None and reply.status == health_pb2.HealthCheckResponse.SERVING:
                return
            time.sleep(0.1)
    pytest.fail(f"recallr-server did not report SERVING within {STARTUP_TIMEOUT_SECONDS}s")


@pytest.fixture(scope="module")
def server_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The environment that points an example at a freshly started server."""
    workdir = tmp_path_factory.mktemp("recallr-server")
    target = f"127.0.0.1:{_free_loopback_port()}"
    env = {
        **os.environ,
        "RECALLR_DATABASE_URL": f"sqlite:///{workdir}/recallr.db",
        "RECALLR_LISTEN": target,
        "RECALLR_PROJECT_ID": PROJECT_ID,
        "RECALLR_API_KEY": API_KEY,
    }
    log_path = workdir / "server.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [str(SERVER), "serve"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            _wait_until_serving(target, server, log_path)
            yield {**env, "RECALLR_TARGET": target}
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed: the example clients need it")
    return path


def _run_suite(
    command: list[str], cwd: Path, env: Mapping[str, str], passed_test: re.Pattern[str]
) -> None:
    result = subprocess.run(
        command,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=SUITE_TIMEOUT_SECONDS,
        check=False,
    )
    assert result.returncode == 0, f"{' '.join(command)} failed in {cwd}:\n{result.stdout}"
    # A runner that found no tests also exits 0.
    assert passed_test.search(result.stdout), f"no test passed in {cwd}:\n{result.stdout}"


def test_go_example_suite_passes(server_env: dict[str, str]) -> None:
    go = _require_tool("go")
    _run_suite(
        [go, "test", "-count=1", "-v", "./..."],
        ROOT / "examples" / "go",
        server_env,
        re.compile(r"^--- PASS: ", re.MULTILINE),
    )


def test_typescript_example_suite_passes(server_env: dict[str, str]) -> None:
    npm = _require_tool("npm")
    example = ROOT / "examples" / "ts"
    if not (example / "node_modules").is_dir():
        pytest.fail("examples/ts has no node_modules: run scripts/install-example-deps")
    _run_suite([npm, "test"], example, server_env, re.compile(r"^# pass [1-9]", re.MULTILINE))
