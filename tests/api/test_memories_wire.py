"""MemoryService on the wire: version chains, filters, paging and deletion."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from google.protobuf import struct_pb2, timestamp_pb2
from sqlalchemy import or_, select

from recallr.v1 import category_pb2, memory_pb2
from recallr.v1 import category_service_pb2 as category_pb
from recallr.v1 import memory_service_pb2 as pb
from recallr_server.store import models
from recallr_server.store.database import Database
from tests.api.conftest import SEEDED_USER_ID
from tests.api.wire import Stubs, fails
from tests.conftest import Tenant, new_tenant
from tests.support import seed
from tests.support.seed import Chain, SeededUser, Version

USER = SEEDED_USER_ID
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
Reason = models.ExpirationReason
ConflictStatus = models.MergeConflictStatus


def ts(value: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp


def add_chain(
    tenant: Tenant, user: SeededUser, *versions: Version | str, created_at: datetime = T0
) -> Chain:
    built = [Version(v) if isinstance(v, str) else v for v in versions]
    return tenant.run(seed.add_chain(tenant.server.db, user, built, created_at=created_at))


def add_session(tenant: Tenant, user: SeededUser, **metadata: Any) -> str:
    return tenant.run(seed.add_session(tenant.server.db, user, metadata=metadata))


def get(
    api: Stubs, tenant: Tenant, memory_id: str, *, user_id: str = USER, **flags: bool
) -> memory_pb2.Memory:
    request = pb.GetMemoryRequest(user_id=user_id, memory_id=memory_id, **flags)
    return api.memories.GetMemory(request, metadata=tenant.metadata).memory


def list_memories(api: Stubs, tenant: Tenant, **fields: Any) -> pb.ListMemoriesResponse:
    request = pb.ListMemoriesRequest(user_id=USER, **fields)
    response: pb.ListMemoriesResponse = api.memories.ListMemories(request, metadata=tenant.metadata)
    return response


def listed_ids(api: Stubs, tenant: Tenant, **fields: Any) -> set[str]:
    response = list_memories(api, tenant, page_size=200, **fields)
    assert response.total_size == len(response.memories)
    return {m.memory_id for m in response.memories}


def delete(
    api: Stubs, tenant: Tenant, memory_id: str, *, delete_previous_versions: bool = False
) -> None:
    api.memories.DeleteMemory(
        pb.DeleteMemoryRequest(
            user_id=USER, memory_id=memory_id, delete_previous_versions=delete_previous_versions
        ),
        metadata=tenant.metadata,
    )


def struct(**values: Any) -> struct_pb2.Struct:
    result = struct_pb2.Struct()
    result.update(values)
    return result


# GetMemory


def test_get_returns_the_current_version_with_its_place_in_the_chain(
    tenant: Tenant, api: Stubs, user: SeededUser
) -> None:
    session_id = add_session(tenant, user)
    chain = add_chain(
        tenant,
        user,
        Version("Ada likes tea.", categories=["food_preferences"]),
        Version(
            "Ada likes green tea in the morning.",
            categories=["preferences", "food_preferences"],
            session_id=session_id,
            event_start_at=T0 - timedelta(days=2),
            event_end_at=T0 - timedelta(days=1),
        ),
    )

    assert get(api, tenant, chain.current) == memory_pb2.Memory(
        memory_id=chain.current,
        user_id=USER,
        categories=["food_preferences", "preferences"],
        content="Ada likes green tea in the morning.",
        event_start_time=ts(T0 - timedelta(days=2)),
        event_end_time=ts(T0 - timedelta(days=1)),
        create_time=ts(T0 + seed.VERSION_STEP),
        session_id=session_id,
        version_number=2,
        total_versions=2,
        has_previous_versions=True,
    )


def test_an_expired_version_tells_when_why_and_through_which_conflict(
    tenant: Tenant, api: Stubs, user: SeededUser
) -> None:
    conflict_id = tenant.run(
        seed.add_merge_conflict(tenant.server.db, user, status=ConflictStatus.RESOLVED)
    )
    reasons = [
        (
            Reason.ADDITION_TO_EXISTING_MEMORY,
            memory_pb2.EXPIRATION_REASON_ADDITION_TO_EXISTING_MEMORY,
        ),
        (Reason.TEMPORAL_CONFLICT, memory_pb2.EXPIRATION_REASON_TEMPORAL_CONFLICT),
        (Reason.MERGE_CONFLICT, memory_pb2.EXPIRATION_REASON_MERGE_CONFLICT),
    ]
    chain = add_chain(
        tenant,
        user,
        *(
            Version(
                f"version {i + 1}",
                expiration_reason=stored,
                merge_conflict_id=conflict_id if stored is Reason.MERGE_CONFLICT else None,
            )
            for i, (stored, _) in enumerate(reasons)
        ),
        "version 4",
    )

    for position, (memory_id, (stored, wire)) in enumerate(
        zip(chain.version_ids, reasons, strict=False)
    ):
        memory = get(api, tenant, memory_id)
        assert memory.content == f"version {position + 1}"
        assert memory.expire_time == ts(T0 + (position + 1) * seed.VERSION_STEP)
        assert memory.expiration_reason == wire
        assert memory.merge_conflict_id == (conflict_id if stored is Reason.MERGE_CONFLICT else "")
        assert (memory.version_number, memory.total_versions) == (position + 1, 4)
        assert memory.has_previous_versions == (position > 0)
    current = get(api, tenant, chain.current)
    assert not current.HasField("expire_time")
    assert current.expiration_reason == memory_pb2.EXPIRATION_REASON_UNSPECIFIED
    assert (current.version_number, current.total_versions) == (4, 4)


def test_previous_versions_are_listed_oldest_first_only_when_asked_for(
    tenant: Tenant, api: Stubs, user: SeededUser
) -> None:
    conflict_id = tenant.run(
        seed.add_merge_conflict(tenant.server.db, user, status=ConflictStatus.RESOLVED)
    )
    chain = add_chain(
        tenant,
        user,
        Version("Ada lives in Paris.", event_start_at=T0 - timedelta(days=900)),
        Version(
            "Ada lives in Lyon.",
            event_start_at=T0 - timedelta(days=300),
            event_end_at=T0 - timedelta(days=10),
            expiration_reason=Reason.MERGE_CONFLICT,
            merge_conflict_id=conflict_id,
        ),
        "Ada lives in Berlin.",
    )
    first, second, third = chain.version_ids

    assert not get(api, tenant, third).previous_versions
    assert list(get(api, tenant, third, include_previous_versions=True).previous_versions) == [
        memory_pb2.MemoryVersion(
            memory_id=first,
            version_number=1,
            content="Ada lives in Paris.",
            event_start_time=ts(T0 - timedelta(days=900)),
            create_time=ts(T0),
            expire_time=ts(T0 + seed.VERSION_STEP),
            expiration_reason=memory_pb2.EXPIRATION_REASON_ADDITION_TO_EXISTING_MEMORY,
        ),
        memory_pb2.MemoryVersion(
            memory_id=second,
            version_number=2,
            content="Ada lives in Lyon.",
            event_start_time=ts(T0 - timedelta(days=300)),
            event_end_time=ts(T0 - timedelta(days=10)),
            create_time=ts(T0 + seed.VERSION_STEP),
            expire_time=ts(T0 + 2 * seed.VERSION_STEP),
            expiration_reason=memory_pb2.EXPIRATION_REASON_MERGE_CONFLICT,
            merge_conflict_id=conflict_id,
        ),
    ]
    older = get(api, tenant, second, include_previous_versions=True).previous_versions
    assert [v.memory_id for v in older] == [first]
    assert not get(api, tenant, first, include_previous_versions=True).previous_versions


def test_connected_memories_show_the_linked_chains_current_version_only_when_asked_for(
    tenant: Tenant, api: Stubs, user: SeededUser
) -> None:
    db = tenant.server.db
    dog = add_chain(tenant, user, "Ada has a dog named Rex.")
    walks = add_chain(tenant, user, "Ada walks Rex daily.", "Ada walks Rex twice a day.")
    unrelated = add_chain(tenant, user, "Ada plays chess.")
    tenant.run(seed.link(db, user, walks, dog))

    assert not get(api, tenant, dog.current).connected_memories
    connected = get(api, tenant, dog.current, include_connected_memories=True).connected_memories
    assert list(connected) == [
        memory_pb2.ConnectedMemory(memory_id=walks.current, content="Ada walks Rex twice a day.")
    ]
    for version in walks.version_ids:
        back = get(api, tenant, version, include_connected_memories=True).connected_memories
        assert [(c.memory_id, c.content) for c in back] == [
            (dog.current, "Ada has a dog named Rex.")
        ]
    assert not get(
        api, tenant, unrelated.current, include_connected_memories=True
    ).connected_memories


def test_merge_conflict_in_progress_while_an_open_conflict_lists_the_memory(
    tenant: Tenant, api: Stubs, user: SeededUser
) -> None:
    db = tenant.server.db
    contested = add_chain(tenant, user, "Ada lives in Paris.")
    bystander = add_chain(tenant, user, "Ada plays chess.")
    conflict_id = tenant.run(
        seed.add_merge_conflict(
            db,
            user,
            status=ConflictStatus.PENDING,
            conflicting=[seed.ConflictingMemory(contested.current, "Ada lives in Paris.", "moved")],
        )
    )
    expected_in_progress = {
        ConflictStatus.PENDING: True,
        ConflictStatus.IN_QUEUE: True,
        ConflictStatus.RESOLVING: True,
        ConflictStatus.FAILED: False,
        ConflictStatus.RESOLVED: False,
    }
    for status, in_progress in expected_in_progress.items():
        tenant.run(seed.set_merge_conflict_status(db, conflict_id, status))
        assert get(api, tenant, contested.current).merge_conflict_in_progress is in_progress, status
        listed = {m.memory_id: m for m in list_memories(api, tenant).memories}
        assert listed[contested.current].merge_conflict_in_progress is in_progress, status
        assert not get(api, tenant, bystander.current).merge_conflict_in_progress


def test_source_message_ids_accumulate_up_to_the_requested_version(
    tenant: Tenant, api: Stubs, user: SeededUser
) -> None:
    chain = add_chain(
        tenant,
        user,
        Version("v1", source_message_ids=["m1", "m2"]),
        Version("v2", source_message_ids=["m2", "m3"]),
        Version("v3", source_message_ids=["m4"]),
    )
    sources = [list(get(api, tenant, v).source_message_ids) for v in chain.version_ids]
    assert sources == [["m1", "m2"], ["m1", "m2", "m3"], ["m1", "m2", "m3", "m4"]]


# Not found, for reading and for deleting


def _foreign_memory_id(kind: str, tenant: Tenant) -> tuple[str, Tenant]:
    """A memory id the caller cannot reach, and the tenant that owns it (if any)."""
    db = tenant.server.db
    if kind == "random":
        return str(uuid.uuid4()), tenant
    if kind == "not a uuid":
        return "not-a-uuid", tenant
    if kind == "another user's":
        bob = tenant.run(seed.add_user(db, tenant.project_id, "bob"))
        return tenant.run(seed.add_chain(db, bob, [Version("Bob's")])).current, tenant
    other = new_tenant(tenant.server)
    namesake = tenant.run(seed.add_user(db, other.project_id, USER))
    return tenant.run(seed.add_chain(db, namesake, [Version("theirs")])).current, other


NOT_FOUND_KINDS = ("random", "not a uuid", "another user's", "another project's")


@pytest.mark.parametrize("kind", NOT_FOUND_KINDS)
@pytest.mark.parametrize("method", ["GetMemory", "DeleteMemory"])
def test_unreachable_memory_is_memory_not_found(
    tenant: Tenant, api: Stubs, user: SeededUser, kind: str, method: str
) -> None:
    add_chain(tenant, user, "Ada's own memory.")
    memory_id, owner = _foreign_memory_id(kind, tenant)
    call: Callable[..., Any] = getattr(api.memories, method)
    request_type = pb.GetMemoryRequest if method == "GetMemory" else pb.DeleteMemoryRequest
    error = fails(call, request_type(user_id=USER, memory_id=memory_id), tenant.metadata)
    assert (error.code, error.reason) == (grpc.StatusCode.NOT_FOUND, "MEMORY_NOT_FOUND")
    assert error.metadata == {"memory_id": memory_id}
    if kind == "another user's":
        assert get(api, owner, memory_id, user_id="bob").content == "Bob's"
    elif kind == "another project's":
        assert get(api, owner, memory_id).content == "theirs"


def test_memories_of_an_unknown_user_are_user_not_found(tenant: Tenant, api: Stubs) -> None:
    error = fails(
        api.memories.ListMemories, pb.ListMemoriesRequest(user_id="nobody"), tenant.metadata
    )
    assert (error.code, error.reason, error.metadata) == (
        grpc.StatusCode.NOT_FOUND,
        "USER_NOT_FOUND",
        {"user_id": "nobody"},
    )


# ListMemories


def test_list_returns_only_current_versions_newest_first(
    tenant: Tenant, api: Stubs, user: SeededUser
) -> None:
    older = add_chain(tenant, user, "a1", "a2", "a3", created_at=T0)
    newer = add_chain(tenant, user, "b1", created_at=T0 + timedelta(hours=1))
    middle = add_chain(tenant, user, "c1", "c2", created_at=T0 + timedelta(minutes=30))
    bob = tenant.run(seed.add_user(tenant.server.db, tenant.project_id, "bob"))
    add_chain(tenant, bob, "not Ada's", created_at=T0 + timedelta(hours=2))

    response = list_memories(api, tenant)
    assert [m.memory_id for m in response.memories] == [
        newer.current,
        middle.current,
        older.current,
    ]
    assert [m.version_number for m in response.memories] == [1, 2, 3]
    assert (response.total_size, response.next_page_token) == (3, "")


def test_list_pages_by_token_and_skip(tenant: Tenant, api: Stubs, user: SeededUser) -> None:
    chains = [
        add_chain(tenant, user, f"memory {i}", created_at=T0 + timedelta(hours=i)) for i in range(5)
    ]
    newest_first = [c.current for c in reversed(chains)]

    pages: list[list[str]] = []
    token = ""
    while True:
        page = list_memories(api, tenant, page_size=2, page_token=token)
        assert page.total_size == 5
        pages.append([m.memory_id for m in page.memories])
        token = page.next_page_token
        if not token:
            break
    assert pages == [newest_first[0:2], newest_first[2:4], newest_first[4:]]

    skipped = list_memories(api, tenant, page_size=2, skip=1)
    assert [m.memory_id for m in skipped.memories] == newest_first[1:3]
    assert skipped.next_page_token
    first = list_memories(api, tenant, page_size=2)
    after_token_and_skip = list_memories(
        api, tenant, page_size=2, page_token=first.next_page_token, skip=1
    )
    assert [m.memory_id for m in after_token_and_skip.memories] == newest_first[3:5]
    assert not after_token_and_skip.next_page_token


def test_a_page_token_only_continues_the_query_that_issued_it(
    tenant: Tenant, api: Stubs, user: SeededUser
) -> None:
    for i in range(3):
        add_chain(tenant, user, f"memory {i}", created_at=T0 + timedelta(hours=i))
    token = list_memories(api, tenant, page_size=1).next_page_token
    error = fails(
        api.memories.ListMemories,
        pb.ListMemoriesRequest(user_id=USER, page_size=1, page_token=token, categories=["work"]),
        tenant.metadata,
    )
    assert (error.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_PAGE_TOKEN")


def test_page_size_zero_means_twenty(tenant: Tenant, api: Stubs, user: SeededUser) -> None:
    for i in range(21):
        add_chain(tenant, user, f"memory {i}", created_at=T0 + timedelta(minutes=i))
    response = list_memories(api, tenant, page_size=0)
    assert (len(response.memories), response.total_size) == (20, 21)
    assert response.next_page_token
    assert len(list_memories(api, tenant, page_size=200).memories) == 21


@pytest.mark.parametrize("page_size", [201, -1, 2**31 - 1])
def test_page_size_out_of_range_is_validation_failed(
    tenant: Tenant, api: Stubs, user: SeededUser, page_size: int
) -> None:
    error = fails(
        api.memories.ListMemories,
        pb.ListMemoriesRequest(user_id=USER, page_size=page_size),
        tenant.metadata,
    )
    assert (error.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "VALIDATION_FAILED")
    assert error.metadata == {"field": "page_size"}
    assert error.field_violations == ["page_size"]


def test_category_filter_matches_any_listed_category_of_the_current_version(
    tenant: Tenant, api: Stubs, user: SeededUser
) -> None:
    api.categories.CreateCategory(
        category_pb.CreateCategoryRequest(category=category_pb2.Category(name="pets")),
        metadata=tenant.metadata,
    )
    food = add_chain(tenant, user, Version("tea", categories=["food_preferences"])).current
    work = add_chain(tenant, user, Version("job", categories=["work"])).current
    both = add_chain(tenant, user, Version("lunch", categories=["food_preferences", "work"]))
    add_chain(tenant, user, "uncategorised")
    moved = add_chain(
        tenant, user, Version("trip", categories=["travel"]), Version("rex", categories=["pets"])
    )

    assert listed_ids(api, tenant, categories=["food_preferences"]) == {food, both.current}
    assert listed_ids(api, tenant, categories=["food_preferences", "work"]) == {
        food,
        work,
        both.current,
    }
    assert listed_ids(api, tenant, categories=["travel"]) == set()
    assert listed_ids(api, tenant, categories=["pets"]) == {moved.current}


def test_unknown_categories_are_named_each_sorted(
    tenant: Tenant, api: Stubs, user: SeededUser
) -> None:
    error = fails(
        api.memories.ListMemories,
        pb.ListMemoriesRequest(
            user_id=USER, categories=["zeta", "food_preferences", "alpha", "zeta"]
        ),
        tenant.metadata,
    )
    assert (error.code, error.reason, error.domain) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "INVALID_CATEGORIES",
        "recallr.v1",
    )
    assert error.metadata == {"invalid_categories": "alpha,zeta"}


def test_session_filter_matches_listed_sessions_and_ignores_ids_that_are_not_uuids(
    tenant: Tenant, api: Stubs, user: SeededUser
) -> None:
    first, second = add_session(tenant, user), add_session(tenant, user)
    from_first = add_chain(tenant, user, Version("one", session_id=first)).current
    from_second = add_chain(tenant, user, Version("two", session_id=second)).current
    add_chain(tenant, user, "no session")

    assert listed_ids(api, tenant, session_ids=[first]) == {from_first}
    assert listed_ids(api, tenant, session_ids=[first, second]) == {from_first, from_second}
    assert listed_ids(api, tenant, session_ids=[first.upper()]) == {from_first}
    assert listed_ids(api, tenant, session_ids=["not-a-uuid"]) == set()
    assert listed_ids(api, tenant, session_ids=["not-a-uuid", first]) == {from_first}
    assert listed_ids(api, tenant, session_ids=[str(uuid.uuid4())]) == set()


def test_session_metadata_filter_matches_the_producing_sessions_metadata(
    tenant: Tenant, api: Stubs, user: SeededUser
) -> None:
    food_talk = add_session(tenant, user, topic="food", turn=1)
    work_talk = add_session(tenant, user, topic="work", turn=2)
    about_food = add_chain(tenant, user, Version("tea", session_id=food_talk)).current
    about_work = add_chain(tenant, user, Version("job", session_id=work_talk)).current
    sessionless = add_chain(tenant, user, "no session").current

    assert listed_ids(api, tenant, session_metadata_filter=struct(topic="food")) == {about_food}
    assert listed_ids(api, tenant, session_metadata_filter=struct(turn=2)) == {about_work}
    assert listed_ids(api, tenant, session_metadata_filter=struct(topic="food", turn=2)) == set()
    assert listed_ids(api, tenant, session_metadata_filter=struct()) == {
        about_food,
        about_work,
        sessionless,
    }


def test_a_nested_session_metadata_filter_value_is_validation_failed(
    tenant: Tenant, api: Stubs, user: SeededUser
) -> None:
    error = fails(
        api.memories.ListMemories,
        pb.ListMemoriesRequest(
            user_id=USER, session_metadata_filter=struct(topic={"nested": True})
        ),
        tenant.metadata,
    )
    assert (error.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "VALIDATION_FAILED")
    assert error.field_violations == ["session_metadata_filter.topic"]


def test_filters_combine_with_and(tenant: Tenant, api: Stubs, user: SeededUser) -> None:
    food_talk = add_session(tenant, user, topic="food")
    other_talk = add_session(tenant, user, topic="other")
    wanted = add_chain(
        tenant, user, Version("tea", categories=["food_preferences"], session_id=food_talk)
    ).current
    add_chain(tenant, user, Version("job", categories=["work"], session_id=food_talk))
    add_chain(tenant, user, Version("cake", categories=["food_preferences"], session_id=other_talk))
    add_chain(tenant, user, Version("soup", categories=["food_preferences"]))

    assert listed_ids(
        api,
        tenant,
        categories=["food_preferences"],
        session_ids=[food_talk, other_talk],
        session_metadata_filter=struct(topic="food"),
    ) == {wanted}


# DeleteMemory


def test_deleting_a_middle_version_renumbers_the_chain_without_a_gap(
    tenant: Tenant, api: Stubs, user: SeededUser
) -> None:
    first, second, third = add_chain(tenant, user, "v1", "v2", "v3").version_ids
    delete(api, tenant, second)

    current = get(api, tenant, third, include_previous_versions=True)
    assert (current.version_number, current.total_versions) == (2, 2)
    assert [(v.memory_id, v.version_number) for v in current.previous_versions] == [(first, 1)]
    oldest = get(api, tenant, first)
    assert (oldest.version_number, oldest.total_versions, oldest.has_previous_versions) == (
        1,
        2,
        False,
    )
    assert (
        fails(
            api.memories.GetMemory,
            pb.GetMemoryRequest(user_id=USER, memory_id=second),
            tenant.metadata,
        ).reason
        == "MEMORY_NOT_FOUND"
    )


def test_deleting_the_newest_version_makes_the_previous_one_current_again(
    tenant: Tenant, api: Stubs, user: SeededUser
) -> None:
    conflict_id = tenant.run(
        seed.add_merge_conflict(tenant.server.db, user, status=ConflictStatus.RESOLVED)
    )
    first, second = add_chain(
        tenant,
        user,
        Version("Paris", expiration_reason=Reason.MERGE_CONFLICT, merge_conflict_id=conflict_id),
        "Berlin",
    ).version_ids
    delete(api, tenant, second)

    restored = get(api, tenant, first)
    assert not restored.HasField("expire_time")
    assert restored.expiration_reason == memory_pb2.EXPIRATION_REASON_UNSPECIFIED
    assert restored.merge_conflict_id == ""
    assert (restored.version_number, restored.total_versions) == (1, 1)
    assert [m.memory_id for m in list_memories(api, tenant).memories] == [first]


def test_deleting_with_previous_versions_keeps_the_newer_ones(
    tenant: Tenant, api: Stubs, user: SeededUser
) -> None:
    versions = add_chain(tenant, user, "v1", "v2", "v3", "v4").version_ids
    delete(api, tenant, versions[2], delete_previous_versions=True)

    for gone in versions[:3]:
        error = fails(
            api.memories.GetMemory,
            pb.GetMemoryRequest(user_id=USER, memory_id=gone),
            tenant.metadata,
        )
        assert error.reason == "MEMORY_NOT_FOUND"
    survivor = get(api, tenant, versions[3], include_previous_versions=True)
    assert survivor.content == "v4"
    assert (survivor.version_number, survivor.total_versions) == (1, 1)
    assert not survivor.has_previous_versions
    assert not survivor.previous_versions


async def _links_touching(db: Database, chain_id: str) -> list[tuple[str, str]]:
    async with db.read() as session:
        rows = await session.execute(
            select(models.MemoryLink.chain_a, models.MemoryLink.chain_b).where(
                or_(models.MemoryLink.chain_a == chain_id, models.MemoryLink.chain_b == chain_id)
            )
        )
        return [(a, b) for a, b in rows]


@pytest.mark.parametrize("how", ["newest with previous", "each version"])
def test_deleting_a_whole_chain_removes_its_links(
    tenant: Tenant, api: Stubs, user: SeededUser, how: str
) -> None:
    db = tenant.server.db
    doomed = add_chain(tenant, user, "Ada has a cat.", "Ada has two cats.")
    kept = add_chain(tenant, user, "Ada is allergic to cats.")
    tenant.run(seed.link(db, user, doomed, kept))
    assert tenant.run(_links_touching(db, doomed.chain_id))

    if how == "newest with previous":
        delete(api, tenant, doomed.current, delete_previous_versions=True)
    else:
        for version in doomed.version_ids:
            delete(api, tenant, version)

    assert tenant.run(_links_touching(db, doomed.chain_id)) == []
    assert not get(api, tenant, kept.current, include_connected_memories=True).connected_memories
