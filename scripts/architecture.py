"""Checks of the code's shape that the import contracts cannot express.

- No import cycles among recallr_server's modules (grimp's import graph, the one
  lint-imports reads): a cycle means two modules each need the other, so neither has a
  room of its own.
- No function over MAX_FUNCTION_LINES lines in the server or the client, migrations and
  generated code aside: a longer function does several things and should say so by name.

Exits 1 and lists every finding when any check fails.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
MAX_FUNCTION_LINES = 60
SOURCES = (ROOT / "server" / "recallr_server", ROOT / "python_client" / "recallrai")
# Migrations are written once and never read as code; _sync is generated from _async.
SKIPPED = ("migrations", "_sync")


def import_cycles(package: str) -> list[list[str]]:
    """Every strongly connected group of more than one module (Tarjan's algorithm)."""
    graph = grimp.build_graph(package)
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        order[module] = low[module] = len(order)
        stack.append(module)
        on_stack.add(module)
        for imported in graph.find_modules_directly_imported_by(module):
            if imported not in graph.modules:
                continue
            if imported not in order:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in on_stack:
                low[module] = min(low[module], order[imported])
        if low[module] == order[module]:
            group: list[str] = []
            while not group or group[-1] != module:
                group.append(stack.pop())
                on_stack.discard(group[-1])
            if len(group) > 1:
                cycles.append(sorted(group))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(graph.modules)))
    for module in sorted(graph.modules):
        if module not in order:
            visit(module)
    return cycles


def long_functions(root: Path) -> Iterator[str]:
    for path in sorted(root.rglob("*.py")):
        if any(part in SKIPPED for part in path.relative_to(root).parts):
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    where = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
                    yield f"{where}:{node.lineno} {node.name} is {length} lines"


def main() -> int:
    findings = [f"import cycle: {' <-> '.join(group)}" for group in import_cycles("recallr_server")]
    for root in SOURCES:
        findings += [f"{line} (over {MAX_FUNCTION_LINES})" for line in long_functions(root)]
    for finding in findings:
        print(finding)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
