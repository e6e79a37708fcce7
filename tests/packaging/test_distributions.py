"""Each distribution installs from its own wheel into a fresh virtualenv and works there:
the client with none of the server's dependencies, the server with the ones it declares.

Offline: the wheels are built here without build isolation, and each fresh virtualenv
gets, as links into this one's site-packages, exactly the installed distributions that
the declared requirements name, recursively. `pip install --no-index` then checks those
requirements are met, and anything imported but not declared is missing.
"""

from __future__ import annotations

import email.parser
import importlib.metadata
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from email.message import Message
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import repo_root

ROOT = repo_root()
CLIENT = "recallr-client"
SERVER = "recallr-server"
# Where each distribution's packages live in the source tree, by import name.
PACKAGE_SOURCES = {
    CLIENT: {"recallr": "gen/python/recallr", "recallrai": "python_client/recallrai"},
    SERVER: {"recallr_server": "server/recallr_server"},
}
CLIENT_SMOKE = """
import importlib.util, sys
from recallrai import AsyncRecallrAI, RecallrAI
RecallrAI(api_key="rai_key", project_id="project", target="127.0.0.1:9").close()
assert importlib.util.find_spec("recallr_server") is None
print(sys.modules["recallrai"].__file__)
"""


def run(*command: str | Path, cwd: Path | None = None) -> str:
    done = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env={key: value for key, value in os.environ.items() if key != "PYTHONPATH"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, f"{command} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def project_files() -> Iterator[str]:
    """The files a fresh clone of this working tree would hold."""
    listed = run("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", cwd=ROOT)
    return (name for name in listed.split("\0") if name and (ROOT / name).is_file())


@pytest.fixture(scope="module")
def wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both distributions' wheels, built from a copy so that the build leaves no trace here."""
    source = tmp_path_factory.mktemp("source")
    for name in project_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    wheels = tmp_path_factory.mktemp("wheels")
    pip = (sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input")
    run(
        *pip,
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
        "--wheel-dir",
        wheels,
        source,
        source / "server",
    )
    return wheels


def wheel_of(wheelhouse: Path, distribution: str) -> Path:
    (wheel,) = wheelhouse.glob(f"{distribution.replace('-', '_')}-*.whl")
    return wheel


def wheel_metadata(wheel: Path) -> Message:
    with zipfile.ZipFile(wheel) as archive:
        (name,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return email.parser.BytesParser().parsebytes(archive.read(name))


def installed_requirements(
    wheelhouse: Path, distribution: str
) -> list[importlib.metadata.Distribution]:
    """The installed distributions that `distribution`'s declared requirements name,
    recursively (with the extras they ask for), other than this project's own."""
    ours = {CLIENT, SERVER}
    found: dict[str, importlib.metadata.Distribution] = {}
    pending: list[tuple[str, frozenset[str]]] = [(distribution, frozenset())]
    visited: set[tuple[str, frozenset[str]]] = set()
    while pending:
        name, extras = pending.pop()
        if (name, extras) in visited:
            continue
        visited.add((name, extras))
        if name in ours:
            requires = wheel_metadata(wheel_of(wheelhouse, name)).get_all("Requires-Dist") or []
        else:
            found[name] = importlib.metadata.distribution(name)
            requires = found[name].requires or []
        for requirement in map(Requirement, requires):
            marker = requirement.marker
            if marker is None or any(marker.evaluate({"extra": e}) for e in {"", *extras}):
                pending.append((canonicalize_name(requirement.name), frozenset(requirement.extras)))
    return list(found.values())


def link_into(site_packages: Path, distribution: importlib.metadata.Distribution) -> None:
    files = distribution.files
    assert files is not None, f"{distribution.metadata['Name']} lists no files (no RECORD)"
    for file in files:
        if file.parts[0] == ".." or "__pycache__" in file.parts:
            continue  # scripts and caches: not needed to import it
        link = site_packages / file
        link.parent.mkdir(parents=True, exist_ok=True)
        if not link.exists():
            link.symlink_to(Path(str(distribution.locate_file(file))))


def fresh_install(wheelhouse: Path, distribution: str, where: Path) -> Path:
    """A new virtualenv at `where` with `distribution` and what it declares; its bin/."""
    run(sys.executable, "-m", "venv", "--without-pip", where)
    python = where / "bin" / "python"
    site_packages = Path(
        run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip()
    )
    for requirement in installed_requirements(wheelhouse, distribution):
        link_into(site_packages, requirement)
    run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        python,
        "--disable-pip-version-check",
        "install",
        "--no-index",
        "--find-links",
        wheelhouse,
        distribution,
    )
    return where / "bin"


def shipped_files(wheel: Path, package: str) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return {
            name.removeprefix(f"{package}/")
            for name in archive.namelist()
            if name.startswith(f"{package}/")
        }


def source_files(directory: str) -> set[str]:
    return {
        name.removeprefix(f"{directory}/")
        for name in project_files()
        if name.startswith(f"{directory}/")
    }


@pytest.mark.parametrize("distribution", [CLIENT, SERVER])
def test_a_wheel_ships_every_file_of_its_packages(wheelhouse: Path, distribution: str) -> None:
    wheel = wheel_of(wheelhouse, distribution)
    for package, directory in PACKAGE_SOURCES[distribution].items():
        assert shipped_files(wheel, package) == source_files(directory), package


def test_the_client_installs_and_runs_without_the_server(wheelhouse: Path, tmp_path: Path) -> None:
    bin_dir = fresh_install(wheelhouse, CLIENT, tmp_path / "venv")

    imported_from = run(bin_dir / "python", "-c", CLIENT_SMOKE, cwd=tmp_path)

    assert Path(imported_from.strip()).is_relative_to(tmp_path / "venv")
    assert not (bin_dir / "recallr-server").exists()


def test_the_server_installs_and_runs_with_what_it_declares(
    wheelhouse: Path, tmp_path: Path
) -> None:
    server = fresh_install(wheelhouse, SERVER, tmp_path / "venv") / "recallr-server"

    assert "migrate" in run(server, "--help", cwd=tmp_path)
    # The Alembic environment and revisions ship in the wheel: a new database migrates.
    run(server, "--database-url", f"sqlite:///{tmp_path / 'fresh.db'}", "migrate", cwd=tmp_path)
    assert (tmp_path / "fresh.db").stat().st_size > 0
