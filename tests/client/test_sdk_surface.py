"""Recallr's client offers the official RecallrAI SDK's surface, save the listed differences.

The official SDK (pinned at 0.6.6 and installed by scripts/setup beside the venv, since
it imports as `recallrai` too) is described in a process of its own, Recallr's client
in this one (`sdk_surface.describe`). Every difference between the two descriptions
must be a row of the table "Differences from the official SDK" in docs/python.md, and
every row must still be a difference, so the table is the one, current record.

A row covers a class and its async twin alike (`User.tail_messages` is also
`AsyncUser.tail_messages`), and an exception's row is not repeated for the exceptions
that inherit what it describes.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from tests.client import sdk_surface

ROOT = Path(__file__).resolve().parents[2]
SDK_VERSION = "0.6.6"
SDK_DIR = Path(
    os.environ.get("RECALLR_OFFICIAL_SDK_DIR", ROOT / ".venv" / f"recallrai-sdk-{SDK_VERSION}")
)
DOC = ROOT / "docs" / "python.md"
TABLE_HEADING = "## Differences from the official SDK"
ROW = re.compile(r"^\| `(?P<where>[^`]+)` \| (?P<what>[^|]+?) \| (?P<why>[^|]+?) \|$")

Difference = tuple[str, str]  # (where, what)
Surface = Mapping[str, Any]


@cache
def official_surface() -> Surface:
    if not (SDK_DIR / "recallrai").is_dir():
        pytest.fail(f"the official SDK is not installed in {SDK_DIR}: run scripts/setup")
    probe = subprocess.run(
        [sys.executable, "-m", "tests.client.sdk_surface", str(SDK_DIR)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    surface: Surface = json.loads(probe.stdout)
    return surface


@cache
def recallr_surface() -> Surface:
    return sdk_surface.describe()


def documented_differences() -> dict[Difference, str]:
    """The rows of the table in docs/python.md, with their reasons."""
    text = DOC.read_text(encoding="utf-8")
    assert TABLE_HEADING in text, f"{DOC} has no section {TABLE_HEADING!r}"
    section = text.split(TABLE_HEADING, 1)[1].split("\n## ", 1)[0]
    rows: dict[Difference, str] = {}
    for line in section.splitlines():
        match = ROW.match(line)
        if match is None:
            continue
        key = (match["where"], match["what"])
        assert key not in rows, f"listed twice: {line}"
        rows[key] = match["why"]
    return rows


# --- Comparing two descriptions ------------------------------------------------


def _added_and_missing(
    where: Callable[[str], str], official: Iterable[str], ours: Iterable[str]
) -> set[Difference]:
    official, ours = set(official), set(ours)
    return {(where(name), "missing") for name in official - ours} | {
        (where(name), "added") for name in ours - official
    }


def _canonical(type_text: str | None, aliases: Mapping[str, str]) -> str | None:
    """An official type with each name Recallr exports under another name replaced by it."""
    if type_text is None:
        return None
    return re.sub(r"\w+", lambda name: aliases.get(name[0], name[0]), type_text)


def compare_params(where: str, official: list[list[str]], ours: list[list[str]]) -> set[Difference]:
    differences: set[Difference] = set()
    theirs = {name: (index, kind, default) for index, (name, kind, default) in enumerate(official)}
    mine = {name: (index, kind, default) for index, (name, kind, default) in enumerate(ours)}
    for name in theirs.keys() - mine.keys():
        differences.add((f"{where}({name})", "missing"))
    for name in mine.keys() - theirs.keys():
        _, kind, default = mine[name]
        differences.add((f"{where}({name})", f"added: {kind.lower()}, default {default}"))
    for name in theirs.keys() & mine.keys():
        for aspect, official_value, our_value in zip(
            ("position", "kind", "default"), theirs[name], mine[name], strict=True
        ):
            if official_value != our_value:
                differences.add(
                    (f"{where}({name})", f"{aspect} {our_value} (SDK {official_value})")
                )
    return differences


def compare_method(
    where: str, official: Surface, ours: Surface, aliases: Mapping[str, str]
) -> set[Difference]:
    differences = compare_params(where, official["params"], ours["params"])
    if official["kind"] != ours["kind"]:
        differences.add((where, f"{ours['kind']} (SDK {official['kind']})"))
    returns = _canonical(official["returns"], aliases)
    if returns is not None and returns != ours["returns"]:
        differences.add((where, f"returns {ours['returns']} (SDK {returns})"))
    return differences


def compare_class(
    name: str, official: Surface, ours: Surface, aliases: Mapping[str, str]
) -> set[Difference]:
    differences = _added_and_missing(
        lambda method: f"{name}.{method}", official["methods"], ours["methods"]
    )
    differences |= _added_and_missing(
        lambda attribute: f"{name}.{attribute}", official["attributes"], ours["attributes"]
    )
    if official["module"] != ours["module"]:
        differences.add((name, f"module {ours['module']} (SDK {official['module']})"))
    for method in official["methods"].keys() & ours["methods"].keys():
        differences |= compare_method(
            f"{name}.{method}", official["methods"][method], ours["methods"][method], aliases
        )
    return differences


def _sync_name(name: str) -> str:
    return name.removeprefix("Async")


def compare_classes(
    official: Surface, ours: Surface, aliases: Mapping[str, str]
) -> set[Difference]:
    by_class = {
        name: compare_class(name, official["classes"][name], ours["classes"][name], aliases)
        for name in official["classes"].keys() & ours["classes"].keys()
    }
    differences = _added_and_missing(
        lambda name: f"recallrai.{name}", official["classes"], ours["classes"]
    )
    for name, found in by_class.items():
        twin = by_class.get(_sync_name(name), set()) if name.startswith("Async") else set()
        # An async class's row is its sync twin's when the twin differs the same way.
        for where, what in found:
            if (_sync_name(where), what) not in twin:
                differences.add((where, what))
    return differences


def compare_fields(
    name: str, official: Surface, ours: Surface, aliases: Mapping[str, str]
) -> set[Difference]:
    differences = _added_and_missing(
        lambda field: f"models.{name}.{field}", official["fields"], ours["fields"]
    )
    for field in official["fields"].keys() & ours["fields"].keys():
        theirs, mine = official["fields"][field], ours["fields"][field]
        official_type = _canonical(theirs["type"], aliases)
        if official_type != mine["type"]:
            differences.add(
                (f"models.{name}.{field}", f"type {mine['type']} (SDK {official_type})")
            )
        if theirs["default"] != mine["default"]:
            differences.add(
                (f"models.{name}.{field}", f"default {mine['default']} (SDK {theirs['default']})")
            )
    return differences


def compare_model(
    name: str, official: Surface, ours: Surface, aliases: Mapping[str, str]
) -> set[Difference]:
    differences: set[Difference] = set()
    if ours["name"] != name:
        differences.add((f"models.{name}", f"an alias of {ours['name']}"))
    elif official["module"] != ours["module"]:
        differences.add((f"models.{name}", f"module {ours['module']} (SDK {official['module']})"))
    if official["kind"] == "enum" or ours["kind"] == "enum":
        theirs, mine = official.get("members", {}), ours.get("members", {})
        differences |= _added_and_missing(lambda member: f"models.{name}.{member}", theirs, mine)
        for member in theirs.keys() & mine.keys():
            if theirs[member] != mine[member]:
                differences.add(
                    (f"models.{name}.{member}", f"value {mine[member]!r} (SDK {theirs[member]!r})")
                )
        return differences
    return differences | compare_fields(name, official, ours, aliases)


def compare_models(official: Surface, ours: Surface, aliases: Mapping[str, str]) -> set[Difference]:
    theirs, mine = official["models"], ours["models"]
    differences = _added_and_missing(lambda name: f"models.{name}", theirs, mine)
    kinds = {
        (theirs[name]["kind"], mine[name]["kind"])
        for name in theirs.keys() & mine.keys()
        if theirs[name]["kind"] != mine[name]["kind"]
    }
    for official_kind, our_kind in kinds:
        differences.add(("models", f"{our_kind} classes (SDK {official_kind})"))
    for name in theirs.keys() & mine.keys():
        differences |= compare_model(name, theirs[name], mine[name], aliases)
    return differences


def _exception_differences(official: Surface, ours: Surface) -> set[Difference]:
    """An exception's differences, keyed relative to it: `(param)`, `.attribute`, ``."""
    differences = compare_params("", official["params"], ours["params"])
    differences |= _added_and_missing(
        lambda attribute: f".{attribute}", official["attributes"], ours["attributes"]
    )
    if official["module"] != ours["module"]:
        differences.add(("", f"module {ours['module']} (SDK {official['module']})"))
    if official["bases"] != ours["bases"]:
        bases, official_bases = ", ".join(ours["bases"]), ", ".join(official["bases"])
        differences.add(("", f"bases ({bases}) (SDK ({official_bases}))"))
    return differences


def compare_exceptions(official: Surface, ours: Surface) -> set[Difference]:
    theirs, mine = official["exceptions"], ours["exceptions"]
    differences = _added_and_missing(lambda name: f"exceptions.{name}", theirs, mine)
    differences |= {
        (f"recallrai.exceptions.{name}", what)
        for name, what in _added_and_missing(
            str, official["exception_exports"], ours["exception_exports"]
        )
    }
    common = theirs.keys() & mine.keys()
    relative = {name: _exception_differences(theirs[name], mine[name]) for name in common}
    for name in common:
        parent = theirs[name]["bases"][0]
        # What a class inherits unchanged from its parent is the parent's row.
        for where, what in relative[name] - relative.get(parent, set()):
            differences.add((f"exceptions.{name}{where}", what))
    return differences


def compare(official: Surface, ours: Surface) -> set[Difference]:
    # Recallr's names for the official ones it exports under another name.
    aliases = {
        name: model["name"] for name, model in ours["models"].items() if model["name"] != name
    }
    return (
        _added_and_missing(lambda name: f"recallrai.{name}", official["exports"], ours["exports"])
        | compare_classes(official, ours, aliases)
        | compare_models(official, ours, aliases)
        | compare_exceptions(official, ours)
    )


def _rows(differences: Iterable[Difference]) -> str:
    return "\n".join(f"| `{where}` | {what} | ... |" for where, what in sorted(differences))


# --- Tests ---------------------------------------------------------------------


def test_the_official_sdk_is_the_pinned_release_and_not_recallrs_client() -> None:
    official = official_surface()
    assert official["version"] == SDK_VERSION
    assert Path(official["file"]).resolve().is_relative_to(SDK_DIR.resolve())
    assert not Path(recallr_surface()["file"]).resolve().is_relative_to(SDK_DIR.resolve())


def test_every_difference_from_the_official_sdk_is_documented_with_a_reason() -> None:
    found = compare(official_surface(), recallr_surface())
    documented = documented_differences()
    unlisted = found - documented.keys()
    assert not unlisted, f"undocumented differences; add to {DOC.name}:\n{_rows(unlisted)}"
    stale = documented.keys() - found
    assert not stale, f"listed in {DOC.name} but no longer different:\n{_rows(stale)}"
    assert all(reason.strip(" .") for reason in documented.values())
