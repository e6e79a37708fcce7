"""Exporting a user and importing the export, through both clients, on both backends.

The history exported is made by processing: memories with expired versions of every
kind, links, a merge conflict answered and one still open, session summaries. An import
must reproduce all of it, which the tests check through every read of the public client
and by exporting the imported user again.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from recallr_server.config import Settings
from recallrai import MergeConflict, RecallrAI, User
from recallrai.exceptions import (
    InvalidCategoriesError,
    UserAlreadyExistsError,
    ValidationError,
)
from recallrai.models import (
    MergeConflictAnswer,
    MergeConflictStatus,
    MessageRole,
    NewMessage,
    SessionStatus,
    UserMemoryItem,
)
from tests.api.snapshots import snapshot
from tests.client.flavours import Api
from tests.conftest import ServerThread, Tenant, new_tenant
from tests.engine.scenarios import wait_until

USER, ASSISTANT = MessageRole.USER, MessageRole.ASSISTANT
USER_ID = "ada"
KEEP_NEW = "The new information"


def at(year: int, month: int, day: int, hour: int) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


# Same-day contradictions raise merge conflicts; the later facts change, add to and link
# the earlier ones.
HISTORY = (
    (
        at(2024, 1, 10, 9),
        (
            (USER, "I live in Paris."),
            (USER, "I have a dog."),
            (USER, "My favorite color is blue."),
            (ASSISTANT, "Noted, thanks!"),
        ),
    ),
    (at(2024, 1, 10, 18), ((USER, "My favorite color is green."),)),
    (
        at(2024, 6, 1, 12),
        (
            (USER, "I moved to Berlin last month."),
            (USER, "I have a dog named Rex, a golden retriever. Rex loves my sister Mia."),
        ),
    ),
    (
        at(2024, 7, 1, 9),
        ((USER, "My sister Mia works as a nurse in Berlin."), (USER, "My favorite food is pizza.")),
    ),
    (at(2024, 7, 1, 18), ((USER, "My favorite food is sushi."),)),
)


def client_of(tenant: Tenant) -> RecallrAI:
    return RecallrAI(api_key=tenant.api_key, project_id=tenant.project_id, target=tenant.target)


def _processed(session: Any) -> bool:
    session.refresh()
    return bool(session.status in (SessionStatus.PROCESSED, SessionStatus.FAILED))


def build_history(client: RecallrAI) -> None:
    user = client.create_user(USER_ID, metadata={"name": "Ada", "tier": 2})
    user.update(merge_conflict_enabled=True)
    for number, (when, turns) in enumerate(HISTORY):
        session = user.import_session(
            [
                NewMessage(role, text, when + timedelta(minutes=minute))
                for minute, (role, text) in enumerate(turns)
            ],
            custom_created_at_utc=when,
            metadata={"number": number},
            process=True,
        )
        wait_until(lambda session=session: _processed(session), "processing")
        assert session.status == SessionStatus.PROCESSED, session.failure_reason
    first, _ = sorted(user.list_merge_conflicts().conflicts, key=lambda c: c.created_at)
    question = first.clarifying_questions[0].question
    first.resolve([MergeConflictAnswer(question=question, answer=KEEP_NEW, message="I changed")])
    wait_until(lambda: _settled(first), "the resolution")
    # A session still waiting for processing, with a message of its own time.
    pending = user.import_session(
        [NewMessage(USER, "See you tomorrow.", at(2024, 8, 1, 10))],
        custom_created_at_utc=at(2024, 8, 1, 9),
    )
    assert pending.status == SessionStatus.PENDING


def _settled(conflict: MergeConflict) -> bool:
    conflict.refresh()
    return conflict.status == MergeConflictStatus.RESOLVED


def _all(page: Any, items: str) -> Iterator[Any]:
    """Every item of a listing, page by page (`page(offset)` lists from offset)."""
    offset = 0
    while True:
        listed = page(offset)
        yield from getattr(listed, items)
        if not listed.has_more:
            return
        offset += len(getattr(listed, items))


def _memory(memory: UserMemoryItem) -> dict[str, Any]:
    shown = asdict(memory)
    # Connected memories are a set: the store lists them in no particular order.
    shown["connected_memories"] = sorted(
        shown["connected_memories"] or [], key=lambda c: c["memory_id"]
    )
    return shown


def everything(user: User) -> dict[str, Any]:
    """What every read of the public client shows of the user, in comparable form."""
    sessions = {}
    for session in _all(lambda o: user.list_sessions(offset=o, limit=200), "sessions"):
        messages = list(_all(lambda o, s=session: s.get_messages(offset=o, limit=200), "messages"))
        sessions[session.session_id] = (
            session.status,
            session.created_at,
            session.metadata,
            session.auto_process_after_seconds,
            session.failure_reason,
            [asdict(m) for m in messages],
        )
    current = list(_all(lambda o: user.list_memories(offset=o, limit=200), "items"))
    version_ids = {v.memory_id for m in current for v in m.previous_versions or []}
    versions = {
        i: _memory(user.get_memory(i)) for i in version_ids | {m.memory_id for m in current}
    }
    conflicts = _all(lambda o: user.list_merge_conflicts(offset=o, limit=200), "conflicts")
    return {
        "user": (
            user.user_id,
            user.metadata,
            user.merge_conflict_enabled,
            user.created_at,
            user.last_active_at,
        ),
        "sessions": sessions,
        "memories": [_memory(m) for m in current],
        "versions": versions,
        "conflicts": sorted(
            (
                c.conflict_id,
                c.session_id,
                c.status,
                c.proposed_memory_content,
                [asdict(m) for m in c.conflicting_memories],
                [asdict(q) for q in c.clarifying_questions],
                [asdict(a) for a in c.answers],
                c.new_memory_ids,
                c.created_at,
                c.resolved_at,
                c.failure_reason,
            )
            for c in conflicts
        ),
        "recent": [asdict(m) for m in user.get_last_n_messages(100).messages],
    }


def exported_records(path: Path) -> list[dict[str, Any]]:
    """The records of an export file, the header without its export time."""
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    del records[0]["header"]["export_time"]
    return records


@dataclass(frozen=True)
class Source:
    tenant: Tenant
    export: Path
    views: dict[str, Any]


@pytest.fixture(scope="module")
def source(server: ServerThread, tmp_path_factory: pytest.TempPathFactory) -> Source:
    """A project with the processed history of one user, exported once (read-only)."""
    tenant = new_tenant(server)
    path = tmp_path_factory.mktemp("export") / "ada.jsonl"
    with client_of(tenant) as client:
        build_history(client)
        user = client.get_user(USER_ID)
        user.export(path)
        views = everything(user)
    return Source(tenant, path, views)


@pytest.fixture
def other_server(tmp_path: Path) -> Iterator[ServerThread]:
    """Another server, with a new database of its own."""
    url = f"sqlite:///{tmp_path / 'other.db'}"
    running = ServerThread(replace(Settings(), database_url=url, listen="127.0.0.1:0"))
    yield running
    running.stop()


async def test_an_export_imported_into_another_server_is_equal_on_every_field(
    api: Api, source: Source, other_server: ServerThread, tmp_path: Path
) -> None:
    target = new_tenant(other_server)
    client = api.connect(api_key=target.api_key, project_id=target.project_id, target=target.target)
    imported = await api.call(client.import_user, source.export)
    assert imported.user_id == USER_ID

    with client_of(target) as reader:
        user = reader.get_user(USER_ID)
        assert everything(user) == source.views
        user.export(tmp_path / "again.jsonl")
    assert exported_records(tmp_path / "again.jsonl") == exported_records(source.export)


def test_the_history_exported_has_every_kind_of_record(source: Source) -> None:
    # What the other tests' equality covers: expired versions of each reason, links,
    # an answered and an open conflict, summaries, a pending session.
    records = exported_records(source.export)
    memories = [r["memory"] for r in records if "memory" in r]
    reasons = {m.get("expiration_reason") for m in memories}
    assert reasons >= {
        None,
        "EXPIRATION_REASON_MERGE_CONFLICT",
        "EXPIRATION_REASON_ADDITION_TO_EXISTING_MEMORY",
        "EXPIRATION_REASON_TEMPORAL_CONFLICT",
    }
    assert all(m["embedding"] and m["source_message_ids"] for m in memories)
    assert any("memory_link" in r for r in records)
    statuses = {r["merge_conflict"]["status"] for r in records if "merge_conflict" in r}
    assert statuses == {"MERGE_CONFLICT_STATUS_RESOLVED", "MERGE_CONFLICT_STATUS_PENDING"}
    answered = next(
        r["merge_conflict"] for r in records if r.get("merge_conflict", {}).get("answers")
    )
    assert answered["answers"][0]["answer"] == KEEP_NEW and answered["new_memory_ids"]
    assert sum("session_summary" in r for r in records) == len(HISTORY)
    header = records[0]["header"]
    assert header["format_version"] == 1
    assert header["counts"]["messages"] == sum("message" in r for r in records)


async def test_ids_in_use_on_the_server_are_refused_until_the_user_is_gone(
    api: Api, source: Source, tmp_path: Path
) -> None:
    # A copy of the source under new ids, exported: the user this test moves around.
    first = new_tenant(source.tenant.server)
    with client_of(first) as reader:
        reader.import_user(source.export, assign_new_ids=True)
        original = reader.get_user(USER_ID)
        original.export(tmp_path / "copy.jsonl")
        views = everything(original)
    second = new_tenant(source.tenant.server)
    client = api.connect(api_key=second.api_key, project_id=second.project_id)

    with pytest.raises(UserAlreadyExistsError):
        await api.call(client.import_user, tmp_path / "copy.jsonl")
    assert (await api.call(client.list_users)).total == 0

    with client_of(first) as reader:
        reader.get_user(USER_ID).delete()
    await api.call(client.import_user, tmp_path / "copy.jsonl")
    with client_of(second) as reader:
        assert everything(reader.get_user(USER_ID)) == views


UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def without_ids(records: list[dict[str, Any]]) -> list[str]:
    """The records with each id named by where it first appears, in an order that does not
    depend on the ids: equal for the same data under other ids."""
    body = [json.dumps(r, sort_keys=True) for r in records]
    names: dict[str, str] = {}
    renamed = [
        UUID.sub(lambda m: names.setdefault(m.group(), f"id{len(names)}"), text)
        for text in sorted(body, key=lambda text: UUID.sub("", text))
    ]
    # A link is stored with the lesser chain id first, which new ids may swap.
    return sorted(
        json.dumps({"memory_link": sorted(r["memory_link"].values())})
        if "memory_link" in (r := json.loads(text))
        else text
        for text in renamed
    )


async def test_a_copy_under_new_ids_beside_the_original_differs_only_in_ids(
    api: Api, source: Source, tmp_path: Path
) -> None:
    target = new_tenant(source.tenant.server)
    client = api.connect(api_key=target.api_key, project_id=target.project_id)
    before = source.tenant.run(snapshot(source.tenant.server.db, source.tenant.project_id))

    await api.call(client.import_user, source.export, user_id="ada-copy", assign_new_ids=True)

    assert source.tenant.run(snapshot(source.tenant.server.db, source.tenant.project_id)) == before
    with client_of(target) as reader:
        reader.get_user("ada-copy").export(tmp_path / "copy.jsonl")
    original, copy = exported_records(source.export), exported_records(tmp_path / "copy.jsonl")
    assert copy[1]["user"] == {**original[1]["user"], "user_id": "ada-copy"}
    assert copy[0] == original[0]
    assert without_ids(copy[2:]) == without_ids(original[2:])
    ids_of = {m.group() for m in UUID.finditer(source.export.read_text())}
    assert not ids_of & {m.group() for m in UUID.finditer((tmp_path / "copy.jsonl").read_text())}


async def test_reimporting_with_the_same_request_id_returns_the_first_user(
    api: Api, source: Source
) -> None:
    target = new_tenant(source.tenant.server)
    client = api.connect(api_key=target.api_key, project_id=target.project_id)
    key = str(uuid.uuid4())
    first = await api.call(client.import_user, source.export, assign_new_ids=True, request_id=key)
    again = await api.call(client.import_user, source.export, assign_new_ids=True, request_id=key)
    assert (again.user_id, again.created_at) == (first.user_id, first.created_at)
    assert (await api.call(client.list_users)).total == 1
    with client_of(target) as reader:
        sessions = reader.get_user(USER_ID).list_sessions(limit=200)
    assert sessions.total == len(HISTORY) + 1


def _corrupt(source: Path, target: Path) -> tuple[int, int]:
    """A copy of the export whose first message names an unknown session and whose first
    memory has no content; returns the positions of the two records."""
    lines = source.read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    message = next(i for i, r in enumerate(records) if "message" in r)
    memory = next(i for i, r in enumerate(records) if "memory" in r)
    records[message]["message"]["session_id"] = str(uuid.uuid4())
    records[memory]["memory"]["content"] = " "
    target.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return message, memory


async def test_one_bad_record_rejects_the_whole_import_and_stores_nothing(
    api: Api, source: Source, tmp_path: Path
) -> None:
    target = new_tenant(source.tenant.server)
    client = api.connect(api_key=target.api_key, project_id=target.project_id)
    message, memory = _corrupt(source.export, tmp_path / "bad.jsonl")
    before = target.run(snapshot(target.server.db, target.project_id))

    with pytest.raises(ValidationError) as raised:
        await api.call(client.import_user, tmp_path / "bad.jsonl", assign_new_ids=True)

    assert [field for field, _ in raised.value.field_violations] == [
        f"records[{memory}].memory.content",
        f"records[{message}].message.session_id",
    ]
    assert target.run(snapshot(target.server.db, target.project_id)) == before


async def test_a_file_that_is_not_an_export_fails_before_any_call(
    api: Api, source: Source, tmp_path: Path
) -> None:
    lines = source.export.read_text(encoding="utf-8").splitlines()
    (tmp_path / "broken.jsonl").write_text("\n".join([*lines[:3], "{not json", *lines[3:]]))
    with pytest.raises(ValidationError) as raised:
        await api.call(api.client.import_user, tmp_path / "broken.jsonl")
    assert raised.value.field_violations == [("line 4", "a UserExportRecord as JSON")]


async def test_an_export_holds_nothing_of_another_project(api: Api, tmp_path: Path) -> None:
    other = new_tenant(api.tenant.server)
    with client_of(other) as foreign:
        namesake = foreign.create_user(USER_ID, metadata={"secret": "other-project-secret"})
        namesake.import_session([NewMessage(USER, "other-project-secret message")])
    user = await api.call(api.client.create_user, USER_ID, metadata={"name": "Ada"})
    await api.call(user.import_session, [NewMessage(USER, "I live in Paris.")])

    counts = await api.call(user.export, tmp_path / "ada.jsonl")

    assert "other-project-secret" not in (tmp_path / "ada.jsonl").read_text()
    assert (counts.sessions, counts.messages) == (1, 1)
    with client_of(other) as foreign:
        assert foreign.get_user(USER_ID).export(tmp_path / "theirs.jsonl").messages == 1


async def test_memories_in_categories_the_project_lacks_are_refused_by_name(
    api: Api, source: Source
) -> None:
    target = new_tenant(source.tenant.server)
    client = api.connect(api_key=target.api_key, project_id=target.project_id)
    await api.call(client.delete_category, "places")

    with pytest.raises(InvalidCategoriesError) as raised:
        await api.call(client.import_user, source.export, assign_new_ids=True)

    assert raised.value.invalid_categories == ["places"]
    assert (await api.call(client.list_users)).total == 0


def _interrupted(source: Path, target: Path) -> None:
    """A copy of the export taken while the pending session was being processed and the
    open conflict's answers were being applied."""
    records = [json.loads(line) for line in source.read_text(encoding="utf-8").splitlines()]
    for record in records:
        session = record.get("session", {})
        if session.get("status") == "SESSION_STATUS_PENDING":
            session["status"] = "SESSION_STATUS_PROCESSING"
        conflict = record.get("merge_conflict", {})
        if conflict.get("status") == "MERGE_CONFLICT_STATUS_PENDING":
            conflict["status"] = "MERGE_CONFLICT_STATUS_RESOLVING"
            question = conflict["clarifying_questions"][0]["question"]
            conflict["answers"] = [{"question": question, "answer": KEEP_NEW}]
    target.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")


async def test_work_the_export_was_waiting_for_is_done_after_the_import(
    api: Api, source: Source, tmp_path: Path
) -> None:
    _interrupted(source.export, tmp_path / "busy.jsonl")
    target = new_tenant(source.tenant.server)
    client = api.connect(api_key=target.api_key, project_id=target.project_id)
    await api.call(client.import_user, tmp_path / "busy.jsonl", assign_new_ids=True)

    with client_of(target) as reader:
        user = reader.get_user(USER_ID)

        def settled() -> bool:
            sessions = user.list_sessions(limit=200).sessions
            conflicts = user.list_merge_conflicts().conflicts
            return all(s.status == SessionStatus.PROCESSED for s in sessions) and all(
                c.status == MergeConflictStatus.RESOLVED for c in conflicts
            )

        wait_until(settled, "the imported work to be done", timeout=120)
        conflicts = user.list_merge_conflicts().conflicts
        assert len(conflicts) == 2 and all(c.new_memory_ids for c in conflicts)
