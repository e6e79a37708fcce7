"""`serve` on every core: serving processes sharing one port, and the job worker beside them.

One Python process serves about one core's worth of calls (the interpreter lock), so with
`RECALLR_PROCESSES` above one (by default, one per core) `serve` becomes a supervisor:

- it migrates and bootstraps the database once, and reserves the listening port;
- it starts that many serving processes, each binding the same port with SO_REUSEPORT,
  so that the kernel spreads new connections among them; they share nothing but the
  database (each has its own AddMessage writer, tail feed, recall index cache, health);
- job processing (`RECALLR_WORKERS` job runners) runs in a process of its own, at a
  lower priority (`RECALLR_WORKER_NICE`): serving keeps the cores it needs, processing
  takes whatever they leave, and neither waits for the other's interpreter lock;
- with metrics on (`RECALLR_METRICS_LISTEN=host:P`), serving process i reports on port
  P + i and the worker process on P + N (with P = 0 each picks a port and logs it);
- SIGTERM or SIGINT is passed on to every process, each drains as a single server does,
  and the supervisor exits once all have (0 when all exited 0). A process that dies is
  started again; when the supervisor itself dies, even by SIGKILL, its processes die too.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from types import FrameType

from recallr_server.config import Settings
from recallr_server.sockets import shared_socket

log = logging.getLogger("recallr.supervisor")

_PR_SET_PDEATHSIG = 1
# A process that died is started again after this, so a crash loop does not spin.
RESTART_SECONDS = 1.0
_CHECK_SECONDS = 0.2


def process_count(settings: Settings) -> int:
    """Serving processes to run: as configured, else one per core."""
    return settings.processes if settings.processes > 0 else os.cpu_count() or 1


def _die_with_parent() -> None:
    """Runs in each child before it starts: the kernel kills it when the supervisor dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def _nice(increment: int) -> Callable[[], None]:
    def prepare() -> None:
        _die_with_parent()
        os.nice(increment)

    return prepare


@contextlib.contextmanager
def reserved_port(listen: str | None) -> Iterator[str]:
    """Binds (without listening) an address the serving processes will share, so that a
    port 0 becomes one fixed port for all of them; SO_REUSEPORT lets them bind it too."""
    if not listen:
        yield ""
        return
    host = listen.rpartition(":")[0]
    with shared_socket(listen) as sock:
        yield f"{host}:{sock.getsockname()[1]}"


def _metrics_listen(settings: Settings, offset: int) -> str:
    if not settings.metrics_listen:
        return ""
    host, _, port = settings.metrics_listen.rpartition(":")
    return f"{host}:{int(port) + offset if int(port) else 0}"


@dataclass
class Child:
    """One process the supervisor keeps running."""

    name: str
    command: Sequence[str]
    env: dict[str, str]
    prepare: Callable[[], None] = _die_with_parent
    process: subprocess.Popen[bytes] | None = None
    died_at: float | None = field(default=None)

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.command, env=self.env, stdin=subprocess.DEVNULL, preexec_fn=self.prepare
        )
        self.died_at = None
        log.info("started %s (pid %d)", self.name, self.process.pid)

    def keep_running(self) -> None:
        """Starts the process again a while after it died."""
        assert self.process is not None
        if self.process.poll() is None:
            return
        if self.died_at is None:
            self.died_at = time.monotonic()
            log.error("%s exited with %d; restarting it", self.name, self.process.returncode)
        elif time.monotonic() - self.died_at >= RESTART_SECONDS:
            self.start()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> int:
        assert self.process is not None
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            log.error("%s did not stop in %.0fs; killing it", self.name, timeout)
            self.process.kill()
            code = self.process.wait()
        log.info("%s exited with %d", self.name, code)
        # Ended by the signal itself: it was still starting, with nothing yet to drain.
        return 0 if code == -signal.SIGTERM else code


def children(settings: Settings, listen: str, http_listen: str, count: int) -> list[Child]:
    server = [sys.executable, "-m", "recallr_server.cli"]
    base = {
        **os.environ,
        "RECALLR_LISTEN": listen,
        "RECALLR_HTTP_LISTEN": http_listen,
        "RECALLR_PROCESSES": "1",
    }
    serving = [
        Child(
            f"serving process {i}",
            [*server, "serve"],
            base
            | {
                "RECALLR_PROCESS_INDEX": str(i),
                "RECALLR_WORKERS": "0",
                "RECALLR_METRICS_LISTEN": _metrics_listen(settings, i),
            },
        )
        for i in range(count)
    ]
    if settings.workers <= 0:
        return serving
    worker = Child(
        "worker process",
        [*server, "worker", "--concurrency", str(settings.workers)],
        base | {"RECALLR_METRICS_LISTEN": _metrics_listen(settings, count)},
        prepare=_nice(settings.worker_nice),
    )
    return [*serving, worker]


def supervise(settings: Settings, prepare: Callable[[Settings], None]) -> int:
    """Runs `serve` as `process_count(settings)` processes until SIGTERM or SIGINT."""
    stopping: list[int] = []

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stopping.append(signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, on_signal)
    prepare(settings)
    count = process_count(settings)
    with reserved_port(settings.listen) as listen, reserved_port(settings.http_listen) as http:
        running = children(settings, listen, http, count)
        for child in running:
            child.start()
        log.info("supervising %d serving processes on %s", count, listen)
        while not stopping:
            time.sleep(_CHECK_SECONDS)
            for child in running:
                child.keep_running()
        log.info("stopping %d processes", len(running))
        for child in running:
            child.stop()
        timeout = settings.shutdown_drain_seconds + settings.shutdown_grace_seconds + 30
        codes = [child.wait(timeout) for child in running]
    return 0 if all(code == 0 for code in codes) else 1
