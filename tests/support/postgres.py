"""A throwaway PostgreSQL cluster that tests own from start to removal.

The cluster lives in a temporary directory, listens only on a free loopback port, trusts
every local connection and runs with fsync off: its data never outlives the test run.
Setting ``RECALLR_TEST_POSTGRES_URL`` points the tests at an existing server instead; the
databases they create there are dropped on exit.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType
from typing import Self

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

EXTERNAL_URL_VARIABLE = "RECALLR_TEST_POSTGRES_URL"
SERVER_USER = "postgres"

# Durability settings only slow a cluster whose data is thrown away; benchmarks of the
# write path keep them (`durable=True`), as a production server does.
_SERVER_SETTINGS = {"listen_addresses": "'127.0.0.1'"}
_NOT_DURABLE = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


def libpq_conninfo(url: str) -> str:
    """The libpq form of a SQLAlchemy URL, for connecting with psycopg directly."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def find_server_binary(name: str) -> str:
    """Path of a PostgreSQL server program such as ``initdb`` or ``pg_ctl``.

    Debian's real programs live in /usr/lib/postgresql/<major>/bin; the ones on PATH may be
    wrappers that pick a cluster instead of running the program, so the real ones win.
    """
    versioned = glob.glob(f"/usr/lib/postgresql/*/bin/{name}")
    versioned.sort(key=lambda path: int(Path(path).parts[-3]), reverse=True)
    found = versioned[0] if versioned else shutil.which(name)
    if found is None:
        raise RuntimeError(f"PostgreSQL's {name} is not installed: run scripts/setup")
    return found


class ThrowawayPostgres:
    """Context manager owning a PostgreSQL server and the databases made on it.

    ``url`` is a SQLAlchemy async URL (``postgresql+psycopg://...``) of a fresh database;
    ``create_database`` makes more of them.
    """

    def __init__(self, database: str = "recallr_test", *, durable: bool = False) -> None:
        self._database = database
        self._durable = durable
        self._external_url = os.environ.get(EXTERNAL_URL_VARIABLE)
        self._workdir: Path | None = None
        self._started = False
        self._created: list[str] = []
        self._server_url = ""
        self.url = ""

    def __enter__(self) -> Self:
        try:
            if self._external_url:
                self._server_url = self._external_url
                self.url = self._external_url
            else:
                self._server_url = self._start_cluster()
                self.url = self.create_database(self._database)
        except BaseException:
            self._tear_down()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._tear_down()

    def create_database(self, name: str) -> str:
        """Create an empty database called ``name`` and return its URL."""
        with psycopg.connect(libpq_conninfo(self._server_url), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self._created.append(name)
        return make_url(self._server_url).set(database=name).render_as_string(hide_password=False)

    def _start_cluster(self) -> str:
        self._workdir = Path(tempfile.mkdtemp(prefix="recallr-pg-"))
        # PostgreSQL refuses to run as root, so the cluster belongs to the postgres user,
        # which then needs to own the data and socket directories.
        if os.geteuid() == 0:
            shutil.chown(self._workdir, user=SERVER_USER, group=SERVER_USER)
        data = self._workdir / "data"
        self._run(
            find_server_binary("initdb"),
            "--pgdata",
            str(data),
            "--username",
            SERVER_USER,
            "--auth",
            "trust",
            "--encoding",
            "UTF8",
            "--locale",
            "C",
            "--no-sync",
        )
        port = free_loopback_port()
        settings = {
            **_SERVER_SETTINGS,
            **({} if self._durable else _NOT_DURABLE),
            "port": str(port),
            "unix_socket_directories": f"'{self._workdir}'",
        }
        with (data / "postgresql.conf").open("a") as conf:
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())
        self._run(
            find_server_binary("pg_ctl"),
            "--pgdata",
            str(data),
            "--log",
            str(self._workdir / "server.log"),
            "--wait",
            "start",
        )
        self._started = True
        return f"postgresql+psycopg://{SERVER_USER}@127.0.0.1:{port}/postgres"

    def _tear_down(self) -> None:
        if self._external_url:
            self._drop_created_databases()
            return
        if self._workdir is None:
            return
        try:
            if self._started:
                self._run(
                    find_server_binary("pg_ctl"),
                    "--pgdata",
                    str(self._workdir / "data"),
                    "--mode",
                    "immediate",
                    "--wait",
                    "stop",
                )
                self._started = False
        finally:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def _drop_created_databases(self) -> None:
        with psycopg.connect(libpq_conninfo(self._server_url), autocommit=True) as conn:
            for name in self._created:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
                )
        self._created.clear()

    def _run(self, *command: str) -> None:
        assert self._workdir is not None
        if os.geteuid() == 0:
            command = ("runuser", "-u", SERVER_USER, "--", *command)
        # The postgres user may not be allowed into the caller's working directory.
        result = subprocess.run(
            command, cwd=self._workdir, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            log = self._workdir / "server.log"
            server_log = log.read_text() if log.exists() else ""
            raise RuntimeError(
                f"{' '.join(command)} exited with {result.returncode}:\n"
                f"{result.stdout}{result.stderr}{server_log}"
            )


def free_loopback_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
