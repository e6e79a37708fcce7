"""RecallContext and StreamRecallContext over the wire: options, recall, rendering, caching.

Memories, links and summaries are written straight into the store (with real MiniLM
embeddings), so each test controls exactly what recall can find; every such write bumps
the user's index revision, as the server's own write paths do.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from google.protobuf import timestamp_pb2

from recallr.v1 import context_pb2, session_pb2
from recallr.v1 import context_service_pb2 as pb
from recallr.v1 import memory_service_pb2 as memories_pb
from recallr.v1 import session_service_pb2 as sessions_pb
from recallr_server.engine.embeddings import MiniLMEmbedder
from recallr_server.engine.vectors import encode_vector
from recallr_server.store import models
from recallr_server.store.revisions import bump_index_revision
from tests.api.seed import add_message, create_session, create_user, user_pk
from tests.api.wire import Stubs, fails, stubs
from tests.conftest import ServerThread, Tenant

USER = "ada"
LOW_LATENCY = context_pb2.RECALL_STRATEGY_LOW_LATENCY
BALANCED = context_pb2.RECALL_STRATEGY_BALANCED


def at(year: int, month: int, day: int, hour: int = 12) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


@dataclass
class Seeder:
    """Writes a user's memories, links and summaries into the store."""

    tenant: Tenant
    pk: str
    chain_lengths: dict[str, int] = field(default_factory=dict)

    def memory(
        self,
        content: str,
        *,
        happened: tuple[datetime, datetime] | None = None,
        recorded: datetime | None = None,
        chain: str | None = None,
        expired: tuple[datetime, models.ExpirationReason] | None = None,
        sources: tuple[str, ...] = (),
    ) -> models.Memory:
        chain_id = chain or str(uuid.uuid4())
        row = models.Memory(
            id=str(uuid.uuid4()),
            user_pk=self.pk,
            chain_id=chain_id,
            chain_seq=self._next_seq(chain_id),
            session_id=None,
            content=content,
            event_start_at=happened[0] if happened else None,
            event_end_at=happened[1] if happened else None,
            created_at=recorded or at(2024, 1, 1),
            expired_at=expired[0] if expired else None,
            expiration_reason=expired[1] if expired else None,
            source_message_ids=list(sources),
            embedding=encode_vector(MiniLMEmbedder.load().embed([content])[0]),
        )
        self._write(row)
        return row

    def link(self, a: models.Memory, b: models.Memory) -> None:
        low, high = sorted((a.chain_id, b.chain_id))
        self._write(models.MemoryLink(user_pk=self.pk, chain_a=low, chain_b=high))

    def summary(self, session_id: str, text: str, recorded: datetime) -> None:
        self._write(
            models.SessionSummary(
                session_id=session_id,
                user_pk=self.pk,
                summary=text,
                created_at=recorded,
                embedding=encode_vector(MiniLMEmbedder.load().embed([text])[0]),
            )
        )

    def _next_seq(self, chain_id: str) -> int:
        self.chain_lengths[chain_id] = self.chain_lengths.get(chain_id, 0) + 1
        return self.chain_lengths[chain_id]

    def _write(self, row: models.Base) -> None:
        async def write() -> None:
            async with self.tenant.server.db.write() as session:
                session.add(row)
                await session.flush()
                await bump_index_revision(session, self.pk)

        self.tenant.run(write())


@dataclass
class Conversation:
    api: Stubs
    tenant: Tenant
    seed: Seeder
    session_id: str

    def say(
        self, content: str, role: session_pb2.MessageRole.ValueType = session_pb2.MESSAGE_ROLE_USER
    ) -> str:
        return add_message(self.api, self.tenant, USER, self.session_id, content, role).message_id

    def recall(self, **options: Any) -> context_pb2.Context:
        options.setdefault("include_metadata_ids", True)
        request = pb.RecallContextRequest(
            user_id=USER, session_id=self.session_id, options=pb.RecallOptions(**options)
        )
        return self.api.context.RecallContext(request, metadata=self.tenant.metadata).context

    def stream(self, **options: Any) -> list[pb.StreamRecallContextResponse]:
        request = pb.StreamRecallContextRequest(
            user_id=USER, session_id=self.session_id, options=pb.RecallOptions(**options)
        )
        return list(self.api.context.StreamRecallContext(request, metadata=self.tenant.metadata))


def start(api: Stubs, tenant: Tenant, created: datetime | None = None) -> Conversation:
    create_user(api, tenant, USER, {"name": "Ada"})
    session = session_pb2.Session()
    if created is not None:
        session.create_time.FromDatetime(created)
    session_id = create_session(api, tenant, USER, session).session_id
    return Conversation(api, tenant, Seeder(tenant, user_pk(tenant, USER)), session_id)


@pytest.fixture
def talk(tenant: Tenant, channel: grpc.Channel) -> Conversation:
    return start(stubs(channel), tenant, at(2023, 8, 1))


def memory_lines(context: context_pb2.Context) -> list[str]:
    section = context.text.split("## Memories\n", 1)[1].split("\n## ", 1)[0]
    return [line.strip() for line in section.splitlines() if line.strip()[:1].isdigit()]


# --- Options -------------------------------------------------------------------------------

OUT_OF_RANGE = [
    ("min_top_k", 0),
    ("min_top_k", 201),
    ("max_top_k", 0),
    ("max_top_k", 201),
    ("memories_threshold", -0.1),
    ("memories_threshold", 1.5),
    ("memories_threshold", float("nan")),
    ("summaries_threshold", 1.01),
    ("last_n_messages", -1),
    ("last_n_messages", 101),
    ("last_n_summaries", 101),
    ("timezone", "Mars/Olympus_Mons"),
    ("timezone", "../../etc/passwd"),
    ("recall_strategy", 99),
]


@pytest.mark.parametrize(("option", "value"), OUT_OF_RANGE, ids=lambda v: str(v))
def test_out_of_range_options_fail_validation_naming_the_field(
    talk: Conversation, option: str, value: Any
) -> None:
    options: dict[str, Any] = {"min_top_k": 1} if option == "max_top_k" else {}
    request = pb.RecallContextRequest(
        user_id=USER,
        session_id=talk.session_id,
        options=pb.RecallOptions(**options, **{option: value}),
    )
    error = fails(talk.api.context.RecallContext, request, talk.tenant.metadata)
    assert (error.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "VALIDATION_FAILED")
    assert error.metadata == {"field": f"options.{option}"}


def test_max_top_k_below_min_top_k_fails_validation(talk: Conversation) -> None:
    request = pb.RecallContextRequest(
        user_id=USER,
        session_id=talk.session_id,
        options=pb.RecallOptions(min_top_k=10, max_top_k=5),
    )
    error = fails(talk.api.context.RecallContext, request, talk.tenant.metadata)
    assert (error.reason, error.field_violations) == ("VALIDATION_FAILED", ["options.max_top_k"])


def test_max_top_k_alone_lowers_the_default_floor(talk: Conversation) -> None:
    for fruit in ("apples", "pears", "plums", "cherries"):
        talk.seed.memory(f"Ada bought {fruit} at the market.")
    talk.say("What did I buy at the market?")
    context = talk.recall(max_top_k=3, memories_threshold=1.0)
    assert len(context.metadata.memory_ids) == 3


def test_unknown_user_and_session_are_not_found(talk: Conversation) -> None:
    recall = talk.api.context.RecallContext
    stranger = pb.RecallContextRequest(user_id="nobody", session_id=talk.session_id)
    assert fails(recall, stranger, talk.tenant.metadata).reason == "USER_NOT_FOUND"
    missing = pb.RecallContextRequest(user_id=USER, session_id=str(uuid.uuid4()))
    assert fails(recall, missing, talk.tenant.metadata).reason == "SESSION_NOT_FOUND"


def test_defaults_run_balanced_with_the_system_prompt_and_no_ids(talk: Conversation) -> None:
    talk.seed.memory("Ada keeps bees in her garden.")
    talk.say("Tell me about my bees")
    request = pb.RecallContextRequest(user_id=USER, session_id=talk.session_id)
    context = talk.api.context.RecallContext(request, metadata=talk.tenant.metadata).context
    assert context.recall_strategy_used == BALANCED
    assert context.text.startswith("You are an assistant with a long-term memory")
    assert "Ada keeps bees in her garden." in context.text
    # The searches are told whether or not the ids were asked for.
    searches = context_pb2.ContextMetadata(
        queries=context.metadata.queries, keywords=context.metadata.keywords
    )
    assert context.metadata == searches
    assert list(context.metadata.queries) == ["Tell me about my bees"]


def test_without_system_prompt_the_text_starts_with_the_memories(talk: Conversation) -> None:
    talk.seed.memory("Ada keeps bees in her garden.")
    talk.say("Tell me about my bees")
    assert talk.recall(include_system_prompt=False).text.startswith(
        "## Memories\n1. Ada keeps bees"
    )


def test_min_top_k_returns_memories_below_the_threshold(talk: Conversation) -> None:
    for fruit in ("apples", "pears", "plums", "cherries", "grapes"):
        talk.seed.memory(f"Ada bought {fruit} at the market.")
    talk.say("What did I buy at the market?")
    strict = talk.recall(min_top_k=2, memories_threshold=1.0, recall_strategy=LOW_LATENCY)
    assert len(strict.metadata.memory_ids) == 2
    loose = talk.recall(min_top_k=1, memories_threshold=0.0, recall_strategy=LOW_LATENCY)
    assert len(loose.metadata.memory_ids) == 5


def test_the_default_threshold_keeps_relevant_memories_and_drops_unrelated_ones(
    talk: Conversation,
) -> None:
    relevant = [
        talk.seed.memory("Ada keeps bees in her garden.").id,
        talk.seed.memory("Ada's bees made twelve kilos of honey this summer.").id,
    ]
    for unrelated in (
        "Ada took the train to Leeds.",
        "Ada's sister plays the cello.",
        "Ada repainted the kitchen blue.",
    ):
        talk.seed.memory(unrelated)
    talk.say("How much honey did my bees make?")
    # The client's default thresholds, with one memory guaranteed whatever its relevance.
    context = talk.recall(
        min_top_k=1, max_top_k=10, memories_threshold=0.6, recall_strategy=LOW_LATENCY
    )
    assert sorted(context.metadata.memory_ids) == sorted(relevant)


def test_max_top_k_caps_memories_and_raw_messages_together(talk: Conversation) -> None:
    for fruit in ("apples", "pears", "plums", "cherries"):
        talk.seed.memory(f"Ada bought {fruit} at the market.")
    earlier = create_session(talk.api, talk.tenant, USER).session_id
    for fruit in ("figs", "dates", "kiwis"):
        add_message(talk.api, talk.tenant, USER, earlier, f"I bought {fruit} at the market")
    talk.say("What did I buy at the market?")
    context = talk.recall(min_top_k=1, max_top_k=5, memories_threshold=0.0)
    assert len(context.metadata.memory_ids) + len(context.metadata.message_ids) == 5
    everything = talk.recall(min_top_k=1, max_top_k=50, memories_threshold=0.0)
    assert (len(everything.metadata.memory_ids), len(everything.metadata.message_ids)) == (4, 3)


def test_a_memory_of_messages_already_shown_waits_for_new_ones(talk: Conversation) -> None:
    earlier = create_session(talk.api, talk.tenant, USER).session_id
    trip = add_message(
        talk.api, talk.tenant, USER, earlier, "On holiday in Lisbon we hiked, ate and swam"
    ).message_id
    later = create_session(talk.api, talk.tenant, USER).session_id
    museum = add_message(talk.api, talk.tenant, USER, later, "A museum in Lisbon").message_id
    stated = [
        talk.seed.memory(f"Ada {did} on holiday in Lisbon.", sources=(trip,)).id
        for did in ("hiked", "ate well", "swam")
    ]
    visited = talk.seed.memory("Museum tickets cost 12 euros.", sources=(museum,)).id
    talk.say("What did I do on holiday in Lisbon?")

    def recalled(k: int) -> set[str]:
        context = talk.recall(min_top_k=k, max_top_k=k, recall_strategy=LOW_LATENCY)
        return set(context.metadata.memory_ids)

    two = recalled(2)
    assert visited in two and len(two & set(stated)) == 1
    assert recalled(4) == {visited, *stated}


def test_raw_messages_of_earlier_sessions_are_recalled_with_their_speaker(
    talk: Conversation,
) -> None:
    earlier = create_session(talk.api, talk.tenant, USER).session_id
    said = add_message(
        talk.api, talk.tenant, USER, earlier, "My grandmother's violin is a 1920 Mittenwald."
    )
    unrelated = create_session(talk.api, talk.tenant, USER).session_id
    add_message(talk.api, talk.tenant, USER, unrelated, "The weather is grey today.")
    question = talk.say("Which violin did my grandmother have?")
    context = talk.recall(memories_threshold=0.0)
    assert list(context.metadata.message_ids) == [said.message_id]
    assert "- Ada (user): My grandmother's violin is a 1920 Mittenwald." in context.text
    assert question not in context.metadata.message_ids
    assert earlier in context.metadata.session_ids


def test_last_n_messages_appends_the_sessions_last_messages(talk: Conversation) -> None:
    first = talk.say("Good morning")
    second = talk.say("I am planning a trip", session_pb2.MESSAGE_ROLE_ASSISTANT)
    third = talk.say("Where should I go?")
    context = talk.recall(last_n_messages=2)
    section = context.text.split("## This conversation so far\n", 1)[1]
    assert "Assistant (assistant): I am planning a trip" in section
    assert "Ada (user): Where should I go?" in section
    assert "Good morning" not in section
    assert {second, third} <= set(context.metadata.message_ids)
    assert first not in context.metadata.message_ids
    assert "## This conversation so far" not in talk.recall().text


def test_summaries_come_most_recent_first_and_by_relevance(talk: Conversation) -> None:
    sessions = [
        create_session(
            talk.api, talk.tenant, USER, session_pb2.Session(create_time=stamp)
        ).session_id
        for stamp in (_ts(at(2023, 1, 5)), _ts(at(2023, 3, 5)), _ts(at(2023, 6, 5)))
    ]
    talk.seed.summary(sessions[0], "Ada talked about repairing her sailing boat.", at(2023, 1, 5))
    talk.seed.summary(sessions[1], "Ada compared tomato varieties.", at(2023, 3, 5))
    talk.seed.summary(sessions[2], "Ada described a jazz concert.", at(2023, 6, 5))
    talk.say("How is the sailing boat repair going, and did the new mast arrive?")
    recent = talk.recall(last_n_summaries=1, summaries_threshold=1.0)
    assert "jazz concert" in recent.text and "tomato" not in recent.text
    assert "sailing boat" not in recent.text.split("## Session summaries", 1)[1]
    relevant = talk.recall(last_n_summaries=0, summaries_threshold=0.5)
    assert list(relevant.metadata.session_ids) == [sessions[0]]
    assert talk.recall(last_n_summaries=0, summaries_threshold=1.0).metadata.session_ids == []


def test_a_small_context_recalls_fewer_summaries(talk: Conversation) -> None:
    for month in range(1, 7):
        session_id = create_session(
            talk.api, talk.tenant, USER, session_pb2.Session(create_time=_ts(at(2023, month, 5)))
        ).session_id
        talk.seed.summary(
            session_id, f"Ada repaired her sailing boat, part {month}.", at(2023, 7, 1)
        )
    talk.say("How is the sailing boat repair going?")

    def summaries(max_top_k: int) -> int:
        context = talk.recall(max_top_k=max_top_k, summaries_threshold=0.0)
        return len(context.metadata.session_ids)

    assert [summaries(k) for k in (1, 5, 10, 20, 50)] == [1, 1, 2, 4, 5]


def _ts(value: datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp


# --- Rendering -----------------------------------------------------------------------------


def test_times_are_rendered_in_the_requested_time_zone(talk: Conversation) -> None:
    talk.seed.memory(
        "Ada adopted a cat named Turing.",
        happened=(at(2023, 7, 14, 0), at(2023, 7, 15, 0)),
        recorded=datetime(2023, 7, 15, 16, 30, tzinfo=UTC),
    )
    talk.say("Tell me about my cat")
    new_york = talk.recall(timezone="America/New_York").text
    assert "happened 14 July 2023; recorded 15 July 2023 12:30 EDT" in new_york
    assert "Times are in America/New_York." in new_york
    assert "recorded 15 July 2023 16:30 UTC" in talk.recall().text


def test_versions_and_connected_memories_appear_in_the_text(talk: Conversation) -> None:
    old = talk.seed.memory(
        "Ada lives in Paris.",
        recorded=at(2022, 1, 1),
        expired=(at(2023, 2, 1), models.ExpirationReason.TEMPORAL_CONFLICT),
    )
    current = talk.seed.memory("Ada lives in Berlin.", recorded=at(2023, 2, 1), chain=old.chain_id)
    neighbour = talk.seed.memory("Ada's flat in Berlin has a balcony with tomatoes.")
    talk.seed.link(current, neighbour)
    talk.say("Which city do I live in?")
    context = talk.recall(min_top_k=1, max_top_k=1)
    assert memory_lines(context) == [
        "1. Ada lives in Berlin. (recorded 1 February 2023 12:00 UTC)",
        "1.1. Connected: Ada's flat in Berlin has a balcony with tomatoes.",
    ]
    assert (
        "   - v1: Ada lives in Paris. (recorded 1 January 2022 12:00 UTC; superseded by a later "
        "change on 1 February 2023 12:00 UTC)" in context.text
    )
    assert "   1.1. Connected: Ada's flat in Berlin has a balcony with tomatoes." in context.text
    assert set(context.metadata.memory_ids) == {current.id, old.id, neighbour.id}


# --- Understanding the query ---------------------------------------------------------------


def test_last_may_filters_by_event_date_against_the_session_time(talk: Conversation) -> None:
    may = talk.seed.memory(
        "Ada ran a half marathon in Lisbon.", happened=(at(2023, 5, 14, 0), at(2023, 5, 15, 0))
    )
    july = talk.seed.memory(
        "Ada ran a trail race in the Alps.", happened=(at(2023, 7, 2, 0), at(2023, 7, 3, 0))
    )
    talk.say("What race did I run last May?")
    context = talk.recall(memories_threshold=0.0, recall_strategy=BALANCED)
    assert may.id in context.metadata.memory_ids
    assert july.id not in context.metadata.memory_ids
    (window,) = context.metadata.date_filters
    assert (window.start_time.ToDatetime(UTC), window.end_time.ToDatetime(UTC)) == (
        at(2023, 5, 1, 0),
        at(2023, 6, 1, 0),
    )
    # LOW_LATENCY does no date understanding.
    plain = talk.recall(memories_threshold=0.0, recall_strategy=LOW_LATENCY)
    assert july.id in plain.metadata.memory_ids and not plain.metadata.date_filters


def test_recently_asks_for_the_latest_not_for_a_date_range(talk: Conversation) -> None:
    pottery = talk.seed.memory(
        "Ada took a pottery class.", happened=(at(2023, 1, 10, 0), at(2023, 1, 11, 0))
    )
    salsa = talk.seed.memory(
        "Ada took a salsa class.", happened=(at(2023, 6, 10, 0), at(2023, 6, 11, 0))
    )
    talk.seed.memory("Ada bought a lamp.", happened=(at(2023, 7, 20, 0), at(2023, 7, 21, 0)))
    talk.say("Which class did I take recently?")
    context = talk.recall(recall_strategy=BALANCED, min_top_k=3, max_top_k=3)
    assert not context.metadata.date_filters
    recalled = list(context.metadata.memory_ids)
    assert recalled[0] == salsa.id and pottery.id in recalled


def test_asking_for_the_latest_state_prefers_the_latest_event(talk: Conversation) -> None:
    talk.seed.memory("Ada moved to Rome.", happened=(at(2019, 3, 1, 0), at(2019, 3, 2, 0)))
    talk.seed.memory("Ada moved to Lisbon.", happened=(at(2023, 6, 1, 0), at(2023, 6, 2, 0)))
    talk.say("Where did I move to now?")
    context = talk.recall(recall_strategy=BALANCED, min_top_k=2)
    assert memory_lines(context)[0].startswith("1. Ada moved to Lisbon.")


# --- Strategies ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requested", "question", "used"),
    [
        (context_pb2.RECALL_STRATEGY_AGENTIC, "What is my dog called?", BALANCED),
        (context_pb2.RECALL_STRATEGY_AUTO, "What is my dog called?", LOW_LATENCY),
        (context_pb2.RECALL_STRATEGY_AUTO, "When did I get my dog?", BALANCED),
        (LOW_LATENCY, "When did I get my dog?", LOW_LATENCY),
    ],
)
def test_strategy_used_is_reported(
    talk: Conversation, requested: int, question: str, used: int
) -> None:
    talk.say(question)
    assert talk.recall(recall_strategy=requested).recall_strategy_used == used


def test_queries_and_keywords_are_reported(talk: Conversation) -> None:
    talk.say("Which violin did my grandmother play?")
    metadata = talk.recall(recall_strategy=LOW_LATENCY).metadata
    assert list(metadata.queries) == ["Which violin did my grandmother play?"]
    assert list(metadata.keywords) == ["violin", "grandmother", "play"]


# --- Streaming -----------------------------------------------------------------------------


def test_stream_sends_status_updates_then_exactly_one_context(talk: Conversation) -> None:
    talk.seed.memory("Ada keeps bees in her garden.")
    talk.say("Tell me about my bees")
    events = talk.stream(recall_strategy=LOW_LATENCY)
    kinds = [event.WhichOneof("event") for event in events]
    assert kinds == ["status_update"] * (len(events) - 1) + ["context"]
    assert [e.status_update.step for e in events[:-1]] == [
        "understanding_query",
        "retrieving_memories",
        "ranking",
        "rendering",
    ]
    assert "Ada keeps bees in her garden." in events[-1].context.text
    assert events[-1].context.recall_strategy_used == LOW_LATENCY


def test_stream_validates_before_streaming(talk: Conversation) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        talk.stream(min_top_k=0)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT


# --- Caching across replicas ---------------------------------------------------------------


@pytest.fixture
def replica(tenant: Tenant) -> Iterator[ServerThread]:
    other = ServerThread(replace(tenant.server.settings, listen="127.0.0.1:0"))
    yield other
    other.stop()


def test_a_change_through_another_replica_is_seen_by_the_next_recall(
    talk: Conversation, replica: ServerThread
) -> None:
    forgotten = talk.seed.memory("Ada's locker code is 4711.")
    talk.say("What is my locker code?")
    assert forgotten.id in talk.recall(memories_threshold=0.0).metadata.memory_ids
    with grpc.insecure_channel(replica.target) as channel:
        other = stubs(channel)
        earlier = create_session(other, talk.tenant, USER).session_id
        said = add_message(other, talk.tenant, USER, earlier, "The new locker code is 9902.")
        other.memories.DeleteMemory(
            memories_pb.DeleteMemoryRequest(user_id=USER, memory_id=forgotten.id),
            metadata=talk.tenant.metadata,
        )
    context = talk.recall(memories_threshold=0.0)
    assert forgotten.id not in context.metadata.memory_ids
    assert said.message_id in context.metadata.message_ids
    with grpc.insecure_channel(replica.target) as channel:
        other = stubs(channel)
        other.sessions.DeleteSession(
            sessions_pb.DeleteSessionRequest(user_id=USER, session_id=earlier),
            metadata=talk.tenant.metadata,
        )
    assert said.message_id not in talk.recall(memories_threshold=0.0).metadata.message_ids
