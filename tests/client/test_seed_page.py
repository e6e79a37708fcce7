"""Every example on the documented User page runs as written and prints what the page says.

The page is read at test time from the shared documentation, never copied here.
Its examples use the placeholders `project-uuid` and `rai_yourapikey`, so the
test server gets that project with that key, emptied of users before each
example and given the users the example assumes.
"""

from __future__ import annotations

import ast
import inspect
import io
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete

from recallr_server.store import models, projects
from recallr_server.store.database import Database
from recallrai import AsyncRecallrAI, RecallrAI
from recallrai.models import SessionStatus
from tests.conftest import ServerThread
from tests.support import seed

PAGE = Path(__file__).resolve().parents[2].parent / "shared" / "seed" / "user-class.md"
PROJECT_ID = "project-uuid"
API_KEY = "rai_yourapikey"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
CONVERSATION = (("user", "What's the weather?"), ("assistant", "It's sunny today!"))


@dataclass(frozen=True)
class Example:
    """What one example needs beforehand and leaves behind.

    `prints` is a regular expression the example's whole output must match.
    """

    heading: str
    prints: str
    users: Mapping[str, Mapping[str, Any]] = field(default_factory=lambda: {"user123": {}})
    # user123 gets one pending session with metadata {"type": "chat"} and `CONVERSATION`.
    conversation: bool = False
    leaves: Callable[[dict[str, Any]], None] = lambda namespace: None


def updated_user(namespace: dict[str, Any]) -> None:
    user = namespace["user"]
    assert (user.metadata, user.merge_conflict_enabled) == (
        {"name": "John Doe", "role": "admin"},
        True,
    )


def no_memories(namespace: dict[str, Any]) -> None:
    assert (namespace["memories"].items, namespace["memories"].total) == ([], 0)


def async_user(namespace: dict[str, Any]) -> None:
    assert namespace["user"].metadata == {"name": "Jane"}
    assert namespace["session"].status is SessionStatus.PENDING
    no_memories(namespace)


def historical_session(namespace: dict[str, Any]) -> None:
    session = namespace["session"]
    assert session.created_at == datetime(2024, 12, 25, 14, 30, tzinfo=UTC)
    assert session.status is SessionStatus.PROCESSING


def not_found(reason: str) -> str:
    return rf"Error: .+ \[NOT_FOUND {reason}\]\n"


EXAMPLES = [
    Example("update()", r"Updated user ID: john_doe\n", leaves=updated_user),
    Example(
        "refresh()",
        r"Latest metadata: \{'name': 'John Doe', 'role': 'admin'\}\n",
        users={"john_doe": {"name": "John Doe", "role": "admin"}},
    ),
    Example("delete()", r"User deleted successfully\n", users={"john_doe": {}}),
    Example("create_session()", rf"Created session: {UUID}\n"),
    Example(
        "Example with Custom Timestamp",
        r"Session created with timestamp: 2025-01-01 12:00:00\+00:00\n",
    ),
    Example("get_session()", not_found("SESSION_NOT_FOUND")),
    Example("list_sessions()", rf"Total sessions: 1\n{UUID}: pending\n", conversation=True),
    # Known categories and placeholder session ids: no error and nothing to list.
    Example("list_memories()", "", leaves=no_memories),
    Example("get_memory()", not_found("MEMORY_NOT_FOUND")),
    Example("delete_memory()", not_found("MEMORY_NOT_FOUND")),
    Example(
        "get_last_n_messages()",
        rf"Session: ({UUID})\nUSER: What's the weather\?\n"
        r"Session: \1\nASSISTANT: It's sunny today!\n",
        conversation=True,
    ),
    Example("list_merge_conflicts()", r"Total conflicts: 0\n"),
    Example("get_merge_conflict()", not_found("MERGE_CONFLICT_NOT_FOUND")),
    Example("Async User", "", leaves=async_user),
    Example("Working with Historical Data", "", leaves=historical_session),
]


def page_examples() -> list[tuple[str, str]]:
    """(heading, code) of each Python block on the page, under its nearest heading."""
    examples: list[tuple[str, str]] = []
    heading = ""
    fence: str | None = None  # the language of the open fence
    code: list[str] = []
    for line in PAGE.read_text(encoding="utf-8").splitlines(keepends=True):
        if fence is not None:
            if line.strip() == "```":
                if fence == "python":
                    examples.append((heading, "".join(code)))
                fence, code = None, []
            else:
                code.append(line)
        elif line.startswith("```"):
            fence = (line[3:].split() or [""])[0]
        elif line.startswith("#"):
            heading = line.lstrip("#").strip().replace("\\_", "_")
    assert fence is None, "the page ends inside a code block"
    return examples


def constructs_client(code: str) -> bool:
    return any(
        isinstance(node, ast.Name) and node.id == "client" and isinstance(node.ctx, ast.Store)
        for node in ast.walk(ast.parse(code))
    )


async def reset_project(db: Database) -> None:
    async with db.write() as session:
        await projects.ensure_project_with_key(session, PROJECT_ID, API_KEY)
        # Sessions, messages, memories and conflicts go with their users.
        await session.execute(delete(models.User).where(models.User.project_id == PROJECT_ID))


async def add_users(db: Database, users: Mapping[str, Mapping[str, Any]]) -> None:
    for user_id, metadata in users.items():
        await seed.add_user(db, PROJECT_ID, user_id, metadata=metadata)


def add_conversation(client: RecallrAI) -> None:
    user = client.get_user("user123")
    session = user.create_session(metadata={"type": "chat"})
    for role, content in CONVERSATION:
        session.add_message(role, content)


@pytest.fixture
def documented_project(
    server: ServerThread, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ServerThread]:
    server.run(reset_project(server.db))
    monkeypatch.setenv("RECALLR_TARGET", server.target)
    yield server
    server.run(reset_project(server.db))


def test_the_table_covers_exactly_the_pages_examples() -> None:
    headings = [heading for heading, _ in page_examples()]
    assert len(set(headings)) == len(headings), "two examples share a heading"
    assert headings == [example.heading for example in EXAMPLES]


async def run_verbatim(code: str, name: str, namespace: dict[str, Any]) -> str:
    """Runs a block as a module would (top-level await allowed) and returns its output."""
    compiled = compile(code, name, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    output = io.StringIO()
    with redirect_stdout(output):
        # eval, not exec: a block with top-level await evaluates to the coroutine to await.
        result = eval(compiled, namespace)
        if inspect.isawaitable(result):
            await result
    return output.getvalue()


async def close(client: object) -> None:
    if isinstance(client, AsyncRecallrAI):
        await client.close()
    elif isinstance(client, RecallrAI):
        client.close()


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda example: example.heading)
async def test_the_example_runs_as_written(
    documented_project: ServerThread, example: Example
) -> None:
    code = dict(page_examples())[example.heading]
    documented_project.run(add_users(documented_project.db, example.users))
    client = RecallrAI(api_key=API_KEY, project_id=PROJECT_ID)
    namespace: dict[str, Any] = {"__name__": "__main__"}
    try:
        if example.conversation:
            add_conversation(client)
        if not constructs_client(code):
            namespace["client"] = client
        output = await run_verbatim(code, f"{PAGE.name}: {example.heading}", namespace)
    finally:
        client.close()
        if namespace.get("client") is not client:
            await close(namespace.get("client"))
    assert re.fullmatch(example.prints, output), output
    example.leaves(namespace)
