"""The HTTP API is a second transport beside api/: it reaches the product through the
domain's use cases only, never the store, the engine, the gRPC layer or its messages."""

from __future__ import annotations

import ast
from pathlib import Path

import recallr_server.http

FORBIDDEN = (
    "recallr_server.store",
    "recallr_server.engine",
    "recallr_server.api",
    "recallr_server.app",
    "recallr.",
    "grpc",
    "google.protobuf",
    "sqlalchemy",
)


def imported(module: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_http_package_imports_the_domain_and_no_other_layer() -> None:
    modules = sorted(Path(recallr_server.http.__file__).parent.glob("*.py"))
    assert len(modules) > 5
    crossing = {
        f"{module.name}: {name}"
        for module in modules
        for name in imported(module)
        if name.startswith(FORBIDDEN) or name == "recallr"
    }
    assert not crossing
    assert any(name.startswith("recallr_server.domain") for m in modules for name in imported(m))
