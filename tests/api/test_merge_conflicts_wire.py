"""MergeConflictService on the wire: reading, filtering, sorting and paging conflicts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf import timestamp_pb2

from recallr.v1 import merge_conflict_pb2
from recallr.v1 import merge_conflict_service_pb2 as pb
from recallr_server.store import models
from tests.api.conftest import SEEDED_USER_ID
from tests.api.wire import Stubs, fails
from tests.conftest import Tenant, new_tenant
from tests.support import seed
from tests.support.seed import SeededUser

USER = SEEDED_USER_ID
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
Status = models.MergeConflictStatus
STATUS_TO_WIRE = {
    Status.PENDING: merge_conflict_pb2.MERGE_CONFLICT_STATUS_PENDING,
    Status.IN_QUEUE: merge_conflict_pb2.MERGE_CONFLICT_STATUS_IN_QUEUE,
    Status.RESOLVING: merge_conflict_pb2.MERGE_CONFLICT_STATUS_RESOLVING,
    Status.RESOLVED: merge_conflict_pb2.MERGE_CONFLICT_STATUS_RESOLVED,
    Status.FAILED: merge_conflict_pb2.MERGE_CONFLICT_STATUS_FAILED,
}


def ts(value: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp


def add_conflict(
    tenant: Tenant,
    user: SeededUser,
    status: models.MergeConflictStatus,
    *,
    created_at: datetime = T0,
    resolved_at: datetime | None = None,
) -> str:
    return tenant.run(
        seed.add_merge_conflict(
            tenant.server.db, user, status=status, created_at=created_at, resolved_at=resolved_at
        )
    )


def list_ids(api: Stubs, tenant: Tenant, **fields: int | str) -> list[str]:
    request = pb.ListMergeConflictsRequest(user_id=USER, page_size=200, **fields)  # type: ignore[arg-type]
    response = api.conflicts.ListMergeConflicts(request, metadata=tenant.metadata)
    assert response.total_size == len(response.merge_conflicts)
    return [c.merge_conflict_id for c in response.merge_conflicts]


def test_get_returns_every_field_of_the_conflict(
    tenant: Tenant, api: Stubs, user: SeededUser
) -> None:
    db = tenant.server.db
    session_id = tenant.run(seed.add_session(db, user))
    moved_in = T0 - timedelta(days=400)
    paris = tenant.run(
        seed.add_chain(
            db,
            user,
            [seed.Version("Ada lives in Paris.", event_start_at=moved_in)],
            created_at=T0 - timedelta(days=30),
        )
    )
    lyon = tenant.run(
        seed.add_chain(
            db, user, [seed.Version("Ada works in Lyon.")], created_at=T0 - timedelta(days=20)
        )
    )
    # Names no stored version: a resolution's memory deleted since is left out.
    new_memory_id = str(uuid.uuid4())
    conflict_id = tenant.run(
        seed.add_merge_conflict(
            db,
            user,
            status=Status.RESOLVED,
            new_memory_content="Ada lives and works in Berlin.",
            conflicting=[
                seed.ConflictingMemory(paris.current, "Ada lives in Paris.", "different city"),
                seed.ConflictingMemory(lyon.current, "Ada works in Lyon.", "different job"),
            ],
            questions=[
                seed.ClarifyingQuestion("Where does Ada live?", ["Paris", "Berlin"]),
                seed.ClarifyingQuestion("Where does Ada work?", ["Lyon", "Berlin", "Both"]),
            ],
            answers=[
                seed.Answer("Where does Ada live?", "Berlin", "moved in May"),
                seed.Answer("Where does Ada work?", "Berlin"),
            ],
            new_memory_ids=[new_memory_id],
            session_id=session_id,
            created_at=T0,
            resolved_at=T0 + timedelta(minutes=5),
            failure_reason="retried once",
        )
    )

    fetched = api.conflicts.GetMergeConflict(
        pb.GetMergeConflictRequest(user_id=USER, merge_conflict_id=conflict_id),
        metadata=tenant.metadata,
    ).merge_conflict
    assert fetched == merge_conflict_pb2.MergeConflict(
        merge_conflict_id=conflict_id,
        user_id=USER,
        session_id=session_id,
        status=merge_conflict_pb2.MERGE_CONFLICT_STATUS_RESOLVED,
        new_memory_content="Ada lives and works in Berlin.",
        conflicting_memories=[
            merge_conflict_pb2.ConflictingMemory(
                memory_id=paris.current,
                content="Ada lives in Paris.",
                reason="different city",
                event_start_time=ts(moved_in),
                create_time=ts(T0 - timedelta(days=30)),
            ),
            merge_conflict_pb2.ConflictingMemory(
                memory_id=lyon.current,
                content="Ada works in Lyon.",
                reason="different job",
                create_time=ts(T0 - timedelta(days=20)),
            ),
        ],
        clarifying_questions=[
            merge_conflict_pb2.ClarifyingQuestion(
                question="Where does Ada live?", options=["Paris", "Berlin"]
            ),
            merge_conflict_pb2.ClarifyingQuestion(
                question="Where does Ada work?", options=["Lyon", "Berlin", "Both"]
            ),
        ],
        answers=[
            merge_conflict_pb2.MergeConflictAnswer(
                question="Where does Ada live?", answer="Berlin", message="moved in May"
            ),
            merge_conflict_pb2.MergeConflictAnswer(
                question="Where does Ada work?", answer="Berlin"
            ),
        ],
        new_memory_ids=[new_memory_id],
        create_time=ts(T0),
        resolve_time=ts(T0 + timedelta(minutes=5)),
        failure_reason="retried once",
    )


@pytest.mark.parametrize("kind", ["random", "not a uuid", "another user's", "another project's"])
def test_unreachable_conflict_is_merge_conflict_not_found(
    tenant: Tenant, api: Stubs, user: SeededUser, kind: str
) -> None:
    db = tenant.server.db
    add_conflict(tenant, user, Status.PENDING)
    if kind == "random":
        conflict_id = str(uuid.uuid4())
    elif kind == "not a uuid":
        conflict_id = "not-a-uuid"
    elif kind == "another user's":
        bob = tenant.run(seed.add_user(db, tenant.project_id, "bob"))
        conflict_id = add_conflict(tenant, bob, Status.PENDING)
    else:
        other = new_tenant(tenant.server)
        namesake = tenant.run(seed.add_user(db, other.project_id, USER))
        conflict_id = add_conflict(other, namesake, Status.PENDING)

    error = fails(
        api.conflicts.GetMergeConflict,
        pb.GetMergeConflictRequest(user_id=USER, merge_conflict_id=conflict_id),
        tenant.metadata,
    )
    assert (error.code, error.reason, error.domain) == (
        grpc.StatusCode.NOT_FOUND,
        "MERGE_CONFLICT_NOT_FOUND",
        "recallr.v1",
    )
    assert error.metadata == {"merge_conflict_id": conflict_id}


def test_status_filter_returns_only_conflicts_in_that_status(
    tenant: Tenant, api: Stubs, user: SeededUser
) -> None:
    by_status = {
        status: add_conflict(tenant, user, status, created_at=T0 + timedelta(minutes=i))
        for i, status in enumerate(Status)
    }
    bob = tenant.run(seed.add_user(tenant.server.db, tenant.project_id, "bob"))
    add_conflict(tenant, bob, Status.PENDING)

    for status, conflict_id in by_status.items():
        assert list_ids(api, tenant, status=STATUS_TO_WIRE[status]) == [conflict_id], status
    assert set(list_ids(api, tenant)) == set(by_status.values())


def test_sorting_by_create_time_defaults_to_newest_first(
    tenant: Tenant, api: Stubs, user: SeededUser
) -> None:
    middle = add_conflict(tenant, user, Status.PENDING, created_at=T0 + timedelta(hours=1))
    oldest = add_conflict(tenant, user, Status.RESOLVED, created_at=T0)
    newest = add_conflict(tenant, user, Status.FAILED, created_at=T0 + timedelta(hours=2))
    by_create_time = pb.MERGE_CONFLICT_SORT_FIELD_CREATE_TIME

    assert list_ids(api, tenant) == [newest, middle, oldest]
    assert list_ids(api, tenant, sort_by=by_create_time, sort_order=pb.SORT_ORDER_DESCENDING) == [
        newest,
        middle,
        oldest,
    ]
    assert list_ids(api, tenant, sort_by=by_create_time, sort_order=pb.SORT_ORDER_ASCENDING) == [
        oldest,
        middle,
        newest,
    ]
    assert list_ids(api, tenant, sort_order=pb.SORT_ORDER_ASCENDING) == [oldest, middle, newest]


def test_sorting_by_resolve_time_puts_unresolved_conflicts_last_either_way(
    tenant: Tenant, api: Stubs, user: SeededUser
) -> None:
    unresolved = add_conflict(tenant, user, Status.PENDING, created_at=T0 + timedelta(days=1))
    resolved_late = add_conflict(
        tenant, user, Status.RESOLVED, created_at=T0, resolved_at=T0 + timedelta(hours=5)
    )
    resolved_early = add_conflict(
        tenant,
        user,
        Status.RESOLVED,
        created_at=T0 + timedelta(hours=1),
        resolved_at=T0 + timedelta(hours=2),
    )
    by_resolve_time = pb.MERGE_CONFLICT_SORT_FIELD_RESOLVE_TIME

    assert list_ids(api, tenant, sort_by=by_resolve_time, sort_order=pb.SORT_ORDER_ASCENDING) == [
        resolved_early,
        resolved_late,
        unresolved,
    ]
    assert list_ids(api, tenant, sort_by=by_resolve_time, sort_order=pb.SORT_ORDER_DESCENDING) == [
        resolved_late,
        resolved_early,
        unresolved,
    ]


def test_list_pages_by_token_and_skip(tenant: Tenant, api: Stubs, user: SeededUser) -> None:
    ids = [
        add_conflict(tenant, user, Status.PENDING, created_at=T0 + timedelta(minutes=i))
        for i in range(5)
    ]
    oldest_first = pb.SORT_ORDER_ASCENDING
    pages: list[list[str]] = []
    token = ""
    while True:
        page = api.conflicts.ListMergeConflicts(
            pb.ListMergeConflictsRequest(
                user_id=USER, page_size=2, page_token=token, sort_order=oldest_first
            ),
            metadata=tenant.metadata,
        )
        assert page.total_size == 5
        pages.append([c.merge_conflict_id for c in page.merge_conflicts])
        token = page.next_page_token
        if not token:
            break
    assert pages == [ids[0:2], ids[2:4], ids[4:]]

    skipped = api.conflicts.ListMergeConflicts(
        pb.ListMergeConflictsRequest(user_id=USER, page_size=2, skip=2, sort_order=oldest_first),
        metadata=tenant.metadata,
    )
    assert [c.merge_conflict_id for c in skipped.merge_conflicts] == ids[2:4]
    assert skipped.next_page_token

    default_page = api.conflicts.ListMergeConflicts(
        pb.ListMergeConflictsRequest(user_id=USER), metadata=tenant.metadata
    )
    assert len(default_page.merge_conflicts) == 5
    assert not default_page.next_page_token


@pytest.mark.parametrize(
    ("field", "value"),
    [("status", 6), ("status", -1), ("sort_by", 3), ("sort_by", 99), ("sort_order", 3)],
)
def test_unknown_enum_numbers_are_validation_failed(
    tenant: Tenant, api: Stubs, user: SeededUser, field: str, value: int
) -> None:
    request = pb.ListMergeConflictsRequest(user_id=USER, **{field: value})  # type: ignore[arg-type]
    error = fails(api.conflicts.ListMergeConflicts, request, tenant.metadata)
    assert (error.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "VALIDATION_FAILED")
    assert error.metadata == {"field": field}
    assert error.field_violations == [field]
