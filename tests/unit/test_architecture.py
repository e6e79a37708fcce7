"""The layer contracts and shape checks of scripts/check catch what they promise to.

Each test copies the server package aside, breaks it on purpose, and runs the real check
on the copy (put first on PYTHONPATH); the untouched copy passes, so a failure is the
breakage's doing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
sys.path.insert(0, str(ROOT / "scripts"))
import architecture  # noqa: E402


@pytest.fixture
def package(tmp_path: Path) -> Path:
    shutil.copytree(
        ROOT / "server" / "recallr_server",
        tmp_path / "recallr_server",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    return tmp_path / "recallr_server"


def _run(command: list[str], package: Path) -> subprocess.CompletedProcess[str]:
    path = os.pathsep.join(
        [str(package.parent), str(ROOT / "gen" / "python"), str(ROOT / "scripts")]
    )
    return subprocess.run(
        command,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def _lint_imports(package: Path) -> tuple[int, str]:
    result = _run([str(LINT_IMPORTS), "--no-cache"], package)
    # The report is coloured even when not on a terminal.
    return result.returncode, re.sub(r"\x1b\[[0-9;]*m", "", result.stdout)


def test_the_contracts_hold_on_the_code_as_it_is(package: Path) -> None:
    code, report = _lint_imports(package)
    assert code == 0, report


def test_a_domain_module_that_imports_sqlalchemy_breaks_a_contract(package: Path) -> None:
    users = package / "domain" / "users.py"
    users.write_text(users.read_text() + "\nimport sqlalchemy  # noqa\n")
    code, report = _lint_imports(package)
    assert code == 1
    assert "The domain imports no transport, database, engine or generated code BROKEN" in report


def test_a_recall_module_that_imports_ingest_breaks_a_contract(package: Path) -> None:
    index = package / "engine" / "recall" / "index.py"
    index.write_text(index.read_text() + "\nimport recallr_server.engine.ingest.plan  # noqa\n")
    code, report = _lint_imports(package)
    assert code == 1
    assert "The engine's wings never import each other BROKEN" in report


def test_an_import_cycle_is_found(package: Path) -> None:
    script = "import architecture, sys; print(architecture.import_cycles('recallr_server'))"
    clean = _run([sys.executable, "-c", script], package)
    assert clean.stdout.strip() == "[]", clean.stderr
    vectors = package / "engine" / "vectors.py"
    vectors.write_text(vectors.read_text() + "\nimport recallr_server.engine.embeddings  # noqa\n")
    result = _run([sys.executable, "-c", script], package)
    assert "recallr_server.engine.vectors" in result.stdout, result.stderr


def test_a_function_over_sixty_lines_is_found(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(60))
    (tmp_path / "long.py").write_text(f"def fits():\n    pass\n\n\ndef grows():\n{body}\n")
    assert list(architecture.long_functions(tmp_path)) == [
        f"{tmp_path}/long.py:5 grows is 61 lines"
    ]
