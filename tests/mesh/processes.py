"""`recallr-server serve` as a real process, as a mesh runs it, and the gRPC CLI tools."""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.conftest import repo_root

RECALLR_SERVER = Path(sys.executable).with_name("recallr-server")
START_SECONDS = 60.0


def tool(name: str) -> Path:
    """A Go command-line tool that scripts/install-codegen-tools puts in tools/bin."""
    path = repo_root() / "tools" / "bin" / name
    assert path.exists(), f"{path} is missing: run scripts/install-codegen-tools"
    return path


class ServeProcess:
    """A server process on a SQLite file of its own, listening on a free loopback port.

    Its JSON log lines (stderr) go to a file, so the test can read what it logged; the
    ports it chose are read from there too.
    """

    def __init__(
        self,
        directory: Path,
        env: dict[str, str] | None = None,
        *,
        open_files: tuple[int, int] | None = None,
        start_seconds: float = START_SECONDS,
    ) -> None:
        env = env or {}
        self.database_file = directory / "recallr.db"
        # Replicas share one database, project and key: the caller passes them in `env`.
        self.project_id = env.get("RECALLR_PROJECT_ID", str(uuid.uuid4()))
        self.api_key = env.get("RECALLR_API_KEY", f"rk_{secrets.token_urlsafe(24)}")
        self._log_file = directory / "server.log"
        settings = {
            "RECALLR_DATABASE_URL": f"sqlite:///{self.database_file}",
            "RECALLR_LISTEN": "127.0.0.1:0",
            "RECALLR_PROJECT_ID": self.project_id,
            "RECALLR_API_KEY": self.api_key,
            "RECALLR_LOG_LEVEL": "INFO",
            # One process, as these tests pin one process's behaviour; test_processes.py
            # runs `serve` as several.
            "RECALLR_PROCESSES": "1",
            **env,
        }
        self.database_url = settings["RECALLR_DATABASE_URL"]
        command = [str(RECALLR_SERVER), "serve"]
        if open_files is not None:
            # The soft and hard open-file limits, as `ulimit -n` sets them in a shell;
            # prlimit (util-linux) sets them and execs the server in its place.
            command = ["prlimit", f"--nofile={open_files[0]}:{open_files[1]}", *command]
        with self._log_file.open("wb") as log:
            self._process = subprocess.Popen(
                command,
                cwd=directory,
                env={**os.environ, **settings},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        try:
            self.port = self._serving_port(settings["RECALLR_LISTEN"], start_seconds)
        except BaseException:
            self.close()
            raise

    def _serving_port(self, listen: str, timeout: float) -> int:
        """The port once the server is serving: read from its log when it chose one, else
        (the log level may hide that line) once its health check answers SERVING."""
        port = int(listen.rsplit(":", 1)[1])
        if port == 0:
            return int(self.wait_for_log("serving on port ", timeout).rsplit(" ", 1)[1])
        deadline = time.monotonic() + timeout
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            health = health_pb2_grpc.HealthStub(channel)
            while time.monotonic() < deadline:
                assert self._process.poll() is None, self._log_file.read_text()
                try:
                    answer = health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                except grpc.RpcError:
                    answer = None
                if answer is not None and answer.status == health_pb2.HealthCheckResponse.SERVING:
                    return port
                time.sleep(0.1)
        raise AssertionError(f"not serving in {timeout}s:\n{self._log_file.read_text()}")

    def children(self) -> list[int]:
        """The processes this one started (`serve` with RECALLR_PROCESSES above one)."""
        path = Path(f"/proc/{self.pid}/task/{self.pid}/children")
        return [int(pid) for pid in path.read_text().split()] if path.exists() else []

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (
            ("authorization", f"Bearer {self.api_key}"),
            ("x-recallr-project-id", self.project_id),
        )

    def log_text(self) -> str:
        """Everything the server wrote to stdout and stderr so far."""
        return self._log_file.read_text()

    def log_records(self) -> list[dict[str, Any]]:
        lines = self._log_file.read_text().splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def wait_for_log(self, prefix: str, timeout: float = START_SECONDS) -> str:
        """The first logged message starting with `prefix`, waiting for it to appear."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for record in self.log_records():
                if record["message"].startswith(prefix):
                    return str(record["message"])
            if self._process.poll() is not None:
                raise AssertionError(
                    f"the server exited with {self._process.returncode} before logging"
                    f" {prefix!r}:\n{self._log_file.read_text()}"
                )
            time.sleep(0.05)
        raise AssertionError(f"no {prefix!r} in {timeout}s:\n{self._log_file.read_text()}")

    def terminate(self) -> None:
        """Sends SIGTERM, as an orchestrator does to begin a graceful stop."""
        self._process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> int:
        return self._process.wait(timeout)

    def close(self) -> None:
        if self._process.poll() is None:
            self._process.kill()
            self._process.wait()
