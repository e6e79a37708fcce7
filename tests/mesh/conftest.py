"""Fixtures for the mesh tests: server processes that are always stopped."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.mesh.pki import Pki, issue
from tests.mesh.processes import ServeProcess


@pytest.fixture
def serve_process(tmp_path: Path) -> Iterator[Callable[..., ServeProcess]]:
    """Starts server processes on demand; whatever is still running at the end is killed."""
    started: list[ServeProcess] = []

    def start(*, open_files: tuple[int, int] | None = None, **env: str) -> ServeProcess:
        directory = tmp_path / f"server{len(started)}"
        directory.mkdir()
        process = ServeProcess(directory, env, open_files=open_files)
        started.append(process)
        return process

    yield start
    for process in started:
        process.close()


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    """One server process that read-mostly tests share."""
    process = ServeProcess(tmp_path_factory.mktemp("served"))
    yield process
    process.close()


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return issue(tmp_path_factory.mktemp("pki"))
