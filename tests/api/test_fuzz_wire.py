"""Hostile requests against every RPC of the contract.

Whatever arrives, the server answers with a documented status code and exactly one
`ErrorInfo`, never INTERNAL or UNKNOWN, leaves the caller's project untouched when it
rejects a call, and never shows one project's data to another. The methods come from
the generated descriptors, so a new RPC is fuzzed as soon as it is in the contract.
"""

from __future__ import annotations

import base64
import enum
import json
import struct
import zoneinfo
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from google.protobuf import (
    field_mask_pb2,
    json_format,
    message_factory,
    struct_pb2,
    timestamp_pb2,
)
from google.protobuf.descriptor import Descriptor, FieldDescriptor, MethodDescriptor
from google.protobuf.message import Message
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy import update

from recallr.v1 import user_pb2, user_service_pb2
from recallr.v1.error_reason_pb2 import ErrorReason
from recallr_server.api.paging import PageTokens, query_fingerprint
from recallr_server.domain.sessions import DEFAULT_MAX_MESSAGES_PER_SESSION
from recallr_server.store import models
from recallr_server.store.database import Database
from recallr_server.store.secrets import PAGE_TOKEN_SECRET, shared_secret
from tests.api import contract
from tests.api.snapshots import snapshot
from tests.api.wire import decode
from tests.conftest import ServerThread, Tenant, new_tenant
from tests.support import seed

DOMAIN = "recallr.v1"
# gRPC refuses larger requests itself, before the server sees them.
MAX_REQUEST_BYTES = 4 * 1024 * 1024
UNARY_DEADLINE_SECONDS = 30.0
# Following tails never end by themselves; the deadline ends them.
STREAM_DEADLINE_SECONDS = 0.2
USER_ID = "fuzz-user"
FOREIGN_ONLY_USER_ID = "only-in-the-other-project"
# Written into every row of the other project; the caller's answers must never hold it.
FOREIGN_MARKER = "other-project-secret"
QUESTION = "Where does the user live?"
ZONES = sorted(zoneinfo.available_timezones())
OPTIONS = ("Paris", "Berlin")

DOCUMENTED_CODES = {
    grpc.StatusCode.OK,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.ALREADY_EXISTS,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.UNIMPLEMENTED,
}

FUZZ_SETTINGS = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


METHODS = contract.methods()
USER_SERVICE = user_service_pb2.DESCRIPTOR.services_by_name["UserService"]
LIST_USERS = USER_SERVICE.methods_by_name["ListUsers"]
CREATE_USER = USER_SERVICE.methods_by_name["CreateUser"]


# The projects a fuzz case runs against.


@dataclass(frozen=True)
class World:
    """A project with one of everything, and the ids a request may name."""

    tenant: Tenant
    session_ids: tuple[str, ...]
    message_ids: tuple[str, ...]
    memory_ids: tuple[str, ...]
    conflict_ids: tuple[str, ...]


# Rows at the ends of the calendar, as stored before session times were bounded.
CALENDAR_ENDS = (
    datetime(1, 1, 1, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
)


async def _edge_sessions(db: Database, user: seed.SeededUser, text: str) -> list[str]:
    """Processed sessions dated at each end of the calendar, with a message and a memory
    each, and a pending session that holds as many messages as a session may."""
    made = []
    for when in CALENDAR_ENDS:
        session_id = await seed.add_session(db, user, metadata={"topic": text})
        message = await seed.add_message(db, user, session_id, f"{text} yesterday and tomorrow")
        await seed.add_chain(
            db,
            user,
            [seed.Version(f"{text} at {when.year}", [], [message], session_id, when, when)],
        )
        async with db.write() as tx:
            for table, key in (
                (models.Session, models.Session.id),
                (models.Message, models.Message.session_id),
            ):
                await tx.execute(update(table).where(key == session_id).values(created_at=when))
        made.append(session_id)
    full = await seed.add_session(db, user, status=models.SessionStatus.PENDING)
    async with db.write() as tx:
        await tx.execute(
            update(models.Session)
            .where(models.Session.id == full)
            .values(message_count=DEFAULT_MAX_MESSAGES_PER_SESSION)
        )
    return [*made, full]


async def _populate(db: Database, tenant: Tenant, text: str) -> World:
    """One of everything, with `text` in every row."""
    user = await seed.add_user(db, tenant.project_id, USER_ID, metadata={"plan": text, "tier": 1})
    pending = await seed.add_session(
        db, user, metadata={"topic": text}, status=models.SessionStatus.PENDING
    )
    processed = await seed.add_session(db, user, metadata={"topic": text})
    message = await seed.add_message(db, user, pending, f"{text} message")
    chain = await seed.add_chain(
        db,
        user,
        [
            seed.Version(f"{text} v1", categories=["places"], source_message_ids=[message]),
            seed.Version(f"{text} v2", categories=["places"], session_id=processed),
        ],
    )
    linked = await seed.add_chain(db, user, [seed.Version(f"{text} linked")])
    await seed.link(db, user, chain, linked)
    open_conflict = await seed.add_merge_conflict(
        db,
        user,
        status=models.MergeConflictStatus.PENDING,
        new_memory_content=f"{text} proposal",
        conflicting=[seed.ConflictingMemory(chain.current, f"{text} v2", "contradicts")],
        questions=[seed.ClarifyingQuestion(QUESTION, OPTIONS)],
        session_id=processed,
    )
    resolved_conflict = await seed.add_merge_conflict(
        db, user, status=models.MergeConflictStatus.RESOLVED, new_memory_content=text
    )
    edges = await _edge_sessions(db, user, text)
    return World(
        tenant,
        session_ids=(pending, processed, *edges),
        message_ids=(message,),
        memory_ids=(*chain.version_ids, linked.current),
        conflict_ids=(open_conflict, resolved_conflict),
    )


def build_world(server: ServerThread, text: str) -> World:
    return server.run(_populate(server.db, new_tenant(server), text))


class OwnWorld:
    """The caller's project, rebuilt only after a call changed it.

    An unchanged project is the same starting point for the next case, so
    cases stay independent without paying for a new project every time.
    """

    def __init__(self, server: ServerThread) -> None:
        self._server = server
        self._world: World | None = None

    def get(self) -> World:
        if self._world is None:
            self._world = build_world(self._server, "own")
        return self._world

    def spoil(self) -> None:
        self._world = None


@pytest.fixture
def own(server: ServerThread) -> OwnWorld:
    return OwnWorld(server)


@pytest.fixture
def foreign(server: ServerThread) -> World:
    """Another project, with a user of the same user id and one of its own."""
    world = build_world(server, FOREIGN_MARKER)
    server.run(seed.add_user(server.db, world.tenant.project_id, FOREIGN_ONLY_USER_ID))
    return world


@pytest.fixture
def channel(server: ServerThread) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(server.target) as opened:
        yield opened


# Strategies: hostile values per field type, and raw bytes that are no message at all.

NASTY_STRINGS = (
    "",
    " ",
    "\x00",
    "user\x00id",
    "\t\r\n\x1b[31m",
    "🦜🔥👩‍👩‍👧",
    "\u202eevil",
    "\ufeff",
    "\U0010ffff",
    "Robert'); DROP TABLE users;--",
    "%_\\",
    "../../etc/passwd",
    '"quoted"',
    "null",
)
# Overlong NUL, a lone surrogate, a truncated sequence and bytes that never occur in UTF-8.
INVALID_UTF8 = (b"\xc0\x80", b"\xed\xa0\x80", b"abc\xe2\x82", b"\xff\xfe")
INT_EDGES = (0, 1, -1, 10, 20, 200, 201, 1000, 1001, 2**31 - 1, -(2**31))
# The ends of Timestamp's range (years 1 and 9999) and of the range sessions accept.
EDGE_TIMESTAMPS = (
    timestamp_pb2.Timestamp(seconds=-62_135_596_800),
    timestamp_pb2.Timestamp(seconds=-62_135_596_801),
    timestamp_pb2.Timestamp(seconds=-2_208_988_801, nanos=999_999_999),
    timestamp_pb2.Timestamp(seconds=-2_208_988_800),
    timestamp_pb2.Timestamp(seconds=7_258_118_399, nanos=999_999_999),
    timestamp_pb2.Timestamp(seconds=7_258_118_400),
    timestamp_pb2.Timestamp(seconds=253_402_300_799, nanos=999_999_999),
    timestamp_pb2.Timestamp(seconds=253_402_300_800),
)


def _repeat(piece: str, length: int) -> str:
    return (piece * (length // len(piece) + 1))[:length]


def _nest(depth: int, leaf: Any) -> dict[str, Any]:
    value = leaf
    for _ in range(depth):
        value = {"k": value}
    assert isinstance(value, dict)
    return value


def hostile_text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(max_size=24),
        st.sampled_from(NASTY_STRINGS),
        st.builds(_repeat, st.text(min_size=1, max_size=3), st.integers(1, 200_000)),
    )


def _lone_surrogate_utf8() -> st.SearchStrategy[bytes]:
    return st.builds(
        lambda head, surrogate, tail: (head + surrogate + tail).encode("utf-8", "surrogatepass"),
        st.text(max_size=8),
        st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF),
        st.text(max_size=8),
    )


JSON_KEYS = st.one_of(
    st.text(max_size=10), st.sampled_from((*NASTY_STRINGS, "a.b", '"', "$", "[0]"))
)


def json_values() -> st.SearchStrategy[Any]:
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.floats(),
        st.integers(-(2**64), 2**64),
        st.text(max_size=16),
        st.sampled_from(NASTY_STRINGS),
    )
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(JSON_KEYS, inner, max_size=3),
        max_leaves=12,
    )


def json_objects() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.dictionaries(JSON_KEYS, json_values(), max_size=5),
        # Deeper than the server accepts, but shallow enough for the client to encode.
        st.builds(_nest, st.integers(1, 50), json_values()),
        # Many keys: past the server's 64 KiB limit at the top of the range.
        st.builds(
            lambda count, value: {f"k{i}": value for i in range(count)},
            st.integers(0, 3000),
            st.text(max_size=24),
        ),
    )


def to_struct(value: Mapping[str, Any]) -> struct_pb2.Struct:
    result = struct_pb2.Struct()
    result.update(value)
    return result


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low, value = value & 0x7F, value >> 7
        out.append(low | (0x80 if value else 0))
        if not value:
            return bytes(out)


def length_delimited(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def deep_struct(depth: int) -> bytes:
    """A Struct nested deeper than any parser allows, which the client cannot build."""
    value = b"\x11" + struct.pack("<d", 1.0)  # Value.number_value
    nested = b""
    for _ in range(depth):
        entry = length_delimited(1, b"k") + length_delimited(2, value)
        nested = length_delimited(1, entry)  # Struct.fields
        value = length_delimited(5, nested)  # Value.struct_value
    return nested


def _paths_to(descriptor: Descriptor, wanted: str | int, depth: int = 0) -> list[tuple[int, ...]]:
    """Field-number paths to every field of a scalar type, or of a message type by name."""
    paths: list[tuple[int, ...]] = []
    for field in descriptor.fields:
        message = field.message_type
        kind = message.full_name if message is not None else field.type
        if kind == wanted:
            paths.append((field.number,))
        elif message is not None and depth < 2 and not message.GetOptions().map_entry:
            paths.extend((field.number, *p) for p in _paths_to(message, wanted, depth + 1))
    return paths


def splice(path: Sequence[int], payload: bytes) -> bytes:
    for number in reversed(path):
        payload = length_delimited(number, payload)
    return payload


class Requests:
    """Request strategies for any message type, drawing ids from the worlds under test."""

    def __init__(self, pools: Mapping[str, Sequence[str]], field_names: Sequence[str]) -> None:
        self._pools = pools
        self._field_names = sorted(set(field_names))

    def text(self, field: FieldDescriptor) -> st.SearchStrategy[str]:
        if field.name == "page_token":
            return st.one_of(hostile_text(), unsigned_tokens())
        pool = self._pools.get(field.name)
        if pool is None:
            return hostile_text()
        known = st.sampled_from(pool)
        return st.one_of(known, known, known.map(str.upper), st.uuids().map(str), hostile_text())

    def short_text(self, field: FieldDescriptor) -> st.SearchStrategy[str]:
        pool = self._pools.get(field.name, ())
        return (
            st.one_of(st.sampled_from(pool), st.text(max_size=8)) if pool else st.text(max_size=8)
        )

    def scalar(self, field: FieldDescriptor) -> st.SearchStrategy[Any]:
        kind = field.type
        if kind == FieldDescriptor.TYPE_STRING:
            return self.text(field)
        if kind == FieldDescriptor.TYPE_BYTES:
            return st.binary(max_size=64)
        if kind == FieldDescriptor.TYPE_BOOL:
            return st.booleans()
        if kind == FieldDescriptor.TYPE_DOUBLE:
            return st.floats()
        if kind == FieldDescriptor.TYPE_FLOAT:
            return st.floats(width=32)
        if kind == FieldDescriptor.TYPE_ENUM:
            assert field.enum_type is not None
            numbers = [v.number for v in field.enum_type.values]
            return st.one_of(st.sampled_from(numbers), st.integers(-(2**31), 2**31 - 1))
        bits = 32 if kind in _32_BIT else 64
        low = 0 if kind in _UNSIGNED else -(2 ** (bits - 1))
        high = 2**bits - 1 if kind in _UNSIGNED else 2 ** (bits - 1) - 1
        edges = [v for v in INT_EDGES if low <= v <= high]
        return st.one_of(st.sampled_from(edges), st.integers(low, high))

    def message(self, descriptor: Descriptor, depth: int = 0) -> st.SearchStrategy[Message]:
        well_known = self._well_known(descriptor)
        if well_known is not None:
            return well_known
        message_class = message_factory.GetMessageClass(descriptor)
        if depth > 3:
            return st.builds(message_class)
        fields = {f.name: self.field(f, depth) for f in descriptor.fields}
        return st.fixed_dictionaries({}, optional=fields).map(
            lambda values: assemble(message_class(), values)
        )

    def field(self, field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
        message = field.message_type
        if message is not None and message.GetOptions().map_entry:
            key, value = message.fields_by_name["key"], message.fields_by_name["value"]
            return st.dictionaries(self.scalar(key), self.field(value, depth + 1), max_size=4)
        if message is not None:
            single = self.message(message, depth + 1)
            return st.lists(single, max_size=4) if field.is_repeated else single
        if not field.is_repeated:
            return self.scalar(field)
        cheap = (
            self.short_text(field)
            if field.type == FieldDescriptor.TYPE_STRING
            else self.scalar(field)
        )
        return st.one_of(
            st.lists(self.scalar(field), max_size=4),
            # Around the server's limit of 200 values per filter.
            st.lists(cheap, min_size=199, max_size=202),
        )

    def _well_known(self, descriptor: Descriptor) -> st.SearchStrategy[Message] | None:
        if descriptor.full_name == "google.protobuf.Struct":
            return json_objects().map(to_struct)
        if descriptor.full_name == "google.protobuf.Timestamp":
            return st.one_of(
                st.builds(
                    timestamp_pb2.Timestamp,
                    seconds=st.one_of(
                        st.integers(0, 4_102_444_800), st.integers(-(2**63), 2**63 - 1)
                    ),
                    nanos=st.one_of(st.just(0), st.integers(-(2**31), 2**31 - 1)),
                ),
                st.sampled_from(EDGE_TIMESTAMPS),
            )
        if descriptor.full_name == "google.protobuf.FieldMask":
            paths = st.one_of(st.sampled_from(self._field_names), hostile_text())
            return st.builds(field_mask_pb2.FieldMask, paths=st.lists(paths, max_size=4))
        return None

    def payload(self, method: MethodDescriptor) -> st.SearchStrategy[bytes]:
        """Request bytes: mostly a well-formed message, sometimes something worse."""
        valid = self.message(method.input_type).map(lambda m: m.SerializeToString())
        worse: list[st.SearchStrategy[bytes]] = [st.binary(max_size=256)]
        if strings := _paths_to(method.input_type, FieldDescriptor.TYPE_STRING):
            invalid = st.one_of(st.sampled_from(INVALID_UTF8), _lone_surrogate_utf8())
            worse.append(
                st.builds(
                    lambda head, path, bad: head + splice(path, bad),
                    valid,
                    st.sampled_from(strings),
                    invalid,
                )
            )
        if structs := _paths_to(method.input_type, "google.protobuf.Struct"):
            worse.append(
                st.builds(
                    lambda head, path, depth: head + splice(path, deep_struct(depth)),
                    valid,
                    st.sampled_from(structs),
                    st.integers(60, 400),
                )
            )
        return st.one_of(valid, valid, valid, st.one_of(*worse))


_32_BIT = {
    FieldDescriptor.TYPE_INT32,
    FieldDescriptor.TYPE_SINT32,
    FieldDescriptor.TYPE_SFIXED32,
    FieldDescriptor.TYPE_UINT32,
    FieldDescriptor.TYPE_FIXED32,
}
_UNSIGNED = {
    FieldDescriptor.TYPE_UINT32,
    FieldDescriptor.TYPE_FIXED32,
    FieldDescriptor.TYPE_UINT64,
    FieldDescriptor.TYPE_FIXED64,
}


def assemble(message: Message, values: Mapping[str, Any]) -> Message:
    for name, value in values.items():
        field = message.DESCRIPTOR.fields_by_name[name]
        target = getattr(message, name)
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            for key, item in value.items():
                if isinstance(item, Message):
                    target[key].CopyFrom(item)
                else:
                    target[key] = item
        elif field.is_repeated and field.message_type is not None:
            # One copy each: extending copies through the wire format, which refuses the
            # deepest hostile metadata before it could ever reach the server.
            for item in value:
                target.add().CopyFrom(item)
        elif field.is_repeated:
            target.extend(value)
        elif field.message_type is not None:
            target.CopyFrom(value)
        else:
            setattr(message, name, value)
    return message


def request_field_names() -> list[str]:
    """Names a field mask could list: fields of requests and of the messages they carry."""
    names: list[str] = []
    for method in METHODS:
        for field in method.input_type.fields:
            names.append(field.name)
            if field.message_type is not None:
                names.extend(f.name for f in field.message_type.fields)
    return names


# Credentials a call may carry.


class Credentials(enum.Enum):
    OWN = "the project's own key"
    FOREIGN_PROJECT = "another project's key, for that project"
    FOREIGN_KEY = "another project's key, for this project"
    UNKNOWN_KEY = "a key nobody issued"
    NO_KEY = "no authorization"
    NO_PROJECT = "no project id"
    NOT_BEARER = "an authorization that is not a bearer token"
    GARBAGE = "printable garbage"


# The project's own key most of the time: that is where the handlers are.
CREDENTIALS = st.one_of(st.just(Credentials.OWN), st.sampled_from(list(Credentials)))
PRINTABLE = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80)


def call_metadata(
    credentials: Credentials, own: Tenant, foreign: Tenant, garbage: str
) -> tuple[tuple[str, str], ...]:
    def bearer(key: str, project: str) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {key}"), ("x-recallr-project-id", project))

    match credentials:
        case Credentials.OWN:
            return own.metadata
        case Credentials.FOREIGN_PROJECT:
            return foreign.metadata
        case Credentials.FOREIGN_KEY:
            return bearer(foreign.api_key, own.project_id)
        case Credentials.UNKNOWN_KEY:
            return bearer(f"rai_{garbage}", own.project_id)
        case Credentials.NO_KEY:
            return (("x-recallr-project-id", own.project_id),)
        case Credentials.NO_PROJECT:
            return (("authorization", f"Bearer {own.api_key}"),)
        case Credentials.NOT_BEARER:
            return (("authorization", own.api_key), ("x-recallr-project-id", own.project_id))
        case Credentials.GARBAGE:
            return (("authorization", garbage), ("x-recallr-project-id", garbage))


# Calling and judging.


@dataclass(frozen=True)
class Outcome:
    code: grpc.StatusCode
    error: grpc.RpcError | None
    responses: list[bytes]


def invoke(
    channel: grpc.Channel,
    method: MethodDescriptor,
    payload: bytes,
    metadata: tuple[tuple[str, str], ...],
) -> Outcome:
    """Calls with raw bytes, keeping what a stream sent before it failed."""
    assert not (method.client_streaming and method.server_streaming), (
        f"teach the fuzz test bidirectional streams: {method.full_name}"
    )
    path = contract.path(method)
    # Sending an oversized request alone can take longer than a tail's deadline.
    fits = len(payload) <= MAX_REQUEST_BYTES
    responses: list[bytes] = []
    try:
        if method.client_streaming:
            # The request as a stream of one message: what each message of a client
            # stream must survive.
            upload: grpc.StreamUnaryMultiCallable[bytes, bytes] = channel.stream_unary(path)
            responses.append(
                upload(iter([payload]), metadata=metadata, timeout=UNARY_DEADLINE_SECONDS)
            )
        elif method.server_streaming:
            stream: grpc.UnaryStreamMultiCallable[bytes, bytes] = channel.unary_stream(path)
            # Only a stream that can follow (a tail) stays open; others end by themselves.
            follows = "follow" in method.input_type.fields_by_name
            deadline = STREAM_DEADLINE_SECONDS if fits and follows else UNARY_DEADLINE_SECONDS
            responses.extend(stream(payload, metadata=metadata, timeout=deadline))
        else:
            unary: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(path)
            responses.append(unary(payload, metadata=metadata, timeout=UNARY_DEADLINE_SECONDS))
    except grpc.RpcError as error:
        return Outcome(error.code(), error, responses)
    return Outcome(grpc.StatusCode.OK, None, responses)


def judge(
    method: MethodDescriptor,
    payload: bytes,
    credentials: Credentials,
    outcome: Outcome,
    changed: bool,
) -> None:
    code = outcome.code
    if len(payload) > MAX_REQUEST_BYTES:
        assert code == grpc.StatusCode.RESOURCE_EXHAUSTED, code
    elif code == grpc.StatusCode.DEADLINE_EXCEEDED:
        assert method.server_streaming, "a unary call ran into its deadline"
    else:
        assert code in DOCUMENTED_CODES, code
    if code not in (
        grpc.StatusCode.OK,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
    ):
        assert outcome.error is not None
        error = decode(outcome.error)
        assert error.domain == DOMAIN
        assert (
            ErrorReason.Value(f"ERROR_REASON_{error.reason}") != ErrorReason.ERROR_REASON_INTERNAL
        )
    if credentials not in (Credentials.OWN, Credentials.FOREIGN_PROJECT):
        assert code in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.RESOURCE_EXHAUSTED), code
    if code != grpc.StatusCode.OK or credentials != Credentials.OWN:
        assert not changed, "the project changed although the call was rejected or foreign"
    response_class = message_factory.GetMessageClass(method.output_type)
    for response in outcome.responses:
        response_class.FromString(response)
        if credentials == Credentials.OWN:
            assert FOREIGN_MARKER.encode() not in response, "another project's data leaked"


def pools(own: World, foreign: World) -> dict[str, list[str]]:
    """Ids a request may name: the caller's own, the other project's, and near misses."""
    return {
        "user_id": [USER_ID, FOREIGN_ONLY_USER_ID],
        "session_id": [*own.session_ids, *foreign.session_ids],
        "message_id": [*own.message_ids, *foreign.message_ids],
        "memory_id": [*own.memory_ids, *foreign.memory_ids],
        "merge_conflict_id": [*own.conflict_ids, *foreign.conflict_ids],
        "session_ids": [*own.session_ids, *foreign.session_ids],
        "categories": ["places", "work", "no_such_category"],
        "name": ["places", "work", "no_such_category", "Not-A-Name"],
        "question": [QUESTION, "An unknown question?"],
        "answer": [*OPTIONS, "Not an option"],
        # Every zone: those furthest from UTC push the calendar's ends out of range.
        "timezone": [*ZONES, "America", "Mars/Olympus_Mons"],
    }


@pytest.mark.parametrize("method", METHODS, ids=lambda m: m.full_name)
@FUZZ_SETTINGS
@given(data=st.data())
def test_every_rpc_answers_hostile_requests_with_a_documented_status(
    server: ServerThread,
    own: OwnWorld,
    foreign: World,
    channel: grpc.Channel,
    method: MethodDescriptor,
    data: st.DataObject,
) -> None:
    world = own.get()
    requests = Requests(pools(world, foreign), request_field_names())
    payload = data.draw(requests.payload(method), label="payload")
    credentials = data.draw(CREDENTIALS, label="credentials")
    metadata = call_metadata(credentials, world.tenant, foreign.tenant, data.draw(PRINTABLE))

    before = server.run(snapshot(server.db, world.tenant.project_id))
    outcome = invoke(channel, method, payload, metadata)
    after = server.run(snapshot(server.db, world.tenant.project_id))
    if after != before:
        own.spoil()
    judge(method, payload, credentials, outcome, changed=after != before)


def test_a_request_over_four_mib_is_refused_before_the_server_sees_it(
    server: ServerThread, own: OwnWorld, channel: grpc.Channel
) -> None:
    # Sending one takes a while, so this is one case rather than a fuzzed one.
    world = own.get()
    user = user_pb2.User(user_id="big", metadata=to_struct({"blob": "x" * MAX_REQUEST_BYTES}))
    payload = user_service_pb2.CreateUserRequest(user=user).SerializeToString()
    before = server.run(snapshot(server.db, world.tenant.project_id))
    outcome = invoke(channel, CREATE_USER, payload, world.tenant.metadata)
    after = server.run(snapshot(server.db, world.tenant.project_id))
    judge(CREATE_USER, payload, Credentials.OWN, outcome, changed=after != before)
    assert outcome.code == grpc.StatusCode.RESOURCE_EXHAUSTED


# Metadata filters: a filter is rejected as invalid or matches like a dictionary lookup.


def matches(metadata: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    """Every wanted key present with an equal value; numbers compare by value, not type."""

    def same(have: Any, want: Any) -> bool:
        if isinstance(have, bool) or isinstance(want, bool):
            return type(have) is type(want) and have == want
        return bool(have == want)

    return all(key in metadata and same(metadata[key], value) for key, value in wanted.items())


def _storable_text(max_size: int) -> st.SearchStrategy[str]:
    return st.text(
        st.characters(exclude_characters="\x00", exclude_categories=["Cs"]), max_size=max_size
    )


STORED_KEYS = st.one_of(
    st.sampled_from(["plan", "tier", "a.b", "$", '"', "it's", "emoji 🦜", "ключ", " ", ""]),
    _storable_text(6),
)
STORED_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 3),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.sampled_from(["pro", "free", "🦜", "", "a'b", "\\", "1", "true"]),
    _storable_text(6),
)
STORED_METADATA = st.dictionaries(STORED_KEYS, STORED_SCALARS, max_size=3)


@FUZZ_SETTINGS
@given(
    stored=st.lists(STORED_METADATA, max_size=4),
    wanted=st.one_of(
        STORED_METADATA,
        st.dictionaries(st.one_of(STORED_KEYS, hostile_text()), json_values(), max_size=3),
    ),
    copy_from=st.none() | st.integers(0, 3),
)
def test_metadata_filters_match_like_a_dictionary_lookup(
    server: ServerThread,
    channel: grpc.Channel,
    stored: list[dict[str, Any]],
    wanted: dict[str, Any],
    copy_from: int | None,
) -> None:
    tenant = new_tenant(server)
    for index, metadata in enumerate(stored):
        server.run(seed.add_user(server.db, tenant.project_id, f"user-{index}", metadata=metadata))
    if stored and copy_from is not None:
        # A filter copied from stored metadata finds at least that user.
        wanted = stored[copy_from % len(stored)]
    request = user_service_pb2.ListUsersRequest(page_size=200, metadata_filter=to_struct(wanted))
    outcome = invoke(channel, LIST_USERS, request.SerializeToString(), tenant.metadata)

    if outcome.code != grpc.StatusCode.OK:
        assert outcome.error is not None
        error = decode(outcome.error)
        assert (outcome.code, error.reason) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            "VALIDATION_FAILED",
        )
        return
    (response,) = outcome.responses
    listed = {u.user_id for u in user_service_pb2.ListUsersResponse.FromString(response).users}
    # What the server filters by: the Struct as JSON, every number a double.
    on_the_wire = json_format.MessageToDict(to_struct(wanted))
    assert listed == {
        f"user-{index}" for index, metadata in enumerate(stored) if matches(metadata, on_the_wire)
    }


# Page tokens: whatever a client makes of one, it is honoured or INVALID_PAGE_TOKEN.


def _encode_bytes(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _encode_token(payload: Any) -> str:
    return _encode_bytes(json.dumps(payload).encode())


def _token_bytes(token: str) -> bytes:
    return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))


# Where a 32- or 64-bit OFFSET overflows, alone or with an int32 skip added.
OFFSET_EDGES = (2**31 - 1, 2**31, 2**32, 2**63 - 1, 2**63, 2**64 - 1)


def _with_offset(genuine: str, offset: int) -> str:
    """The genuine token's bytes with another offset, its signature left as it was."""
    raw = bytearray(_token_bytes(genuine))
    raw[1:9] = offset.to_bytes(8, "big")
    return _encode_bytes(bytes(raw))


def _flipped(genuine: str, bit: int) -> str:
    raw = bytearray(_token_bytes(genuine))
    raw[bit // 8 % len(raw)] ^= 1 << bit % 8
    return _encode_bytes(bytes(raw))


def nested_tokens() -> st.SearchStrategy[str]:
    """Nested deeper than any parser recurses."""
    return st.builds(
        lambda opener, depth: _encode_bytes(opener * depth),
        st.sampled_from([b"[", b'{"o":', b"[{"]),
        st.integers(1, 100_000),
    )


def unsigned_tokens() -> st.SearchStrategy[str]:
    """Tokens any client can make, with no genuine token to start from."""
    return st.one_of(
        nested_tokens(),
        json_values().map(_encode_token),
        st.builds(lambda offset: _encode_token({"v": 1, "o": offset}), st.integers(0, 2**64)),
        st.binary(min_size=1, max_size=80).map(_encode_bytes),
    )


def forged_tokens(genuine: str) -> st.SearchStrategy[str]:
    """Tokens a client could make without the server's secret: none is ever honoured."""
    offsets = st.one_of(st.sampled_from(OFFSET_EDGES), st.integers(0, 2**64 - 1))
    odd_values = st.one_of(
        st.floats(), st.booleans(), st.none(), st.text(max_size=5), st.lists(st.integers())
    )
    return st.one_of(
        offsets.map(lambda offset: _with_offset(genuine, offset)),
        st.integers(0, 8 * 64).map(lambda bit: _flipped(genuine, bit)),
        # The unsigned JSON of version 1, and whatever JSON a client might try.
        st.builds(
            lambda key, value: _encode_token({"v": 1, "o": 1, key: value}), JSON_KEYS, odd_values
        ),
        unsigned_tokens(),
        st.integers(0, len(genuine) - 1).map(lambda cut: genuine[:cut]),
        hostile_text().filter(bool).map(lambda text: genuine + text),
    )


def tampered_tokens(genuine: str, signed: PageTokens) -> st.SearchStrategy[str]:
    """Forged tokens, hostile text, and tokens signed with the secret at hostile offsets
    (as a client would make them if the secret leaked)."""
    fingerprint = query_fingerprint(user_service_pb2.ListUsersRequest())
    offsets = st.one_of(st.sampled_from(OFFSET_EDGES), st.integers(0, 2**64 - 1))
    return st.one_of(
        forged_tokens(genuine),
        offsets.map(lambda offset: signed.seal(offset, fingerprint)),
        hostile_text(),
    )


def _first_page_token(server: ServerThread, channel: grpc.Channel, tenant: Tenant) -> str:
    for index in range(3):
        server.run(seed.add_user(server.db, tenant.project_id, f"user-{index}"))
    request = user_service_pb2.ListUsersRequest(page_size=1).SerializeToString()
    (response,) = invoke(channel, LIST_USERS, request, tenant.metadata).responses
    return user_service_pb2.ListUsersResponse.FromString(response).next_page_token


def _signer(server: ServerThread) -> PageTokens:
    """Page tokens signed as the server signs them: with its own secret."""
    return PageTokens(server.run(shared_secret(server.db, PAGE_TOKEN_SECRET)))


def _list_users_page(channel: grpc.Channel, tenant: Tenant, token: str, skip: int) -> Outcome:
    request = user_service_pb2.ListUsersRequest(page_size=1, page_token=token, skip=skip)
    return invoke(channel, LIST_USERS, request.SerializeToString(), tenant.metadata)


def _assert_invalid_page_token(outcome: Outcome) -> None:
    assert outcome.error is not None, outcome.code
    error = decode(outcome.error)
    assert (outcome.code, error.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_PAGE_TOKEN")


@FUZZ_SETTINGS
@given(data=st.data())
def test_tampered_page_tokens_are_honoured_or_invalid_page_token(
    server: ServerThread, channel: grpc.Channel, data: st.DataObject
) -> None:
    tenant = new_tenant(server)
    genuine = _first_page_token(server, channel, tenant)
    token = data.draw(tampered_tokens(genuine, _signer(server)), label="page_token")
    skip = data.draw(st.sampled_from([0, 1, 2**31 - 1]), label="skip")
    outcome = _list_users_page(channel, tenant, token, skip)
    if outcome.code != grpc.StatusCode.OK:
        _assert_invalid_page_token(outcome)


@FUZZ_SETTINGS
@given(data=st.data())
def test_a_token_forged_without_the_secret_is_invalid_page_token(
    server: ServerThread, channel: grpc.Channel, data: st.DataObject
) -> None:
    tenant = new_tenant(server)
    genuine = _first_page_token(server, channel, tenant)
    token = data.draw(forged_tokens(genuine), label="page_token")
    # Bits past the end of a token's bytes in its last character carry nothing.
    assume(_token_bytes_or_none(token) != _token_bytes(genuine))
    _assert_invalid_page_token(_list_users_page(channel, tenant, token, 0))


def _token_bytes_or_none(token: str) -> bytes | None:
    try:
        return _token_bytes(token)
    except ValueError:
        return None


@pytest.mark.parametrize(("offset", "skip"), [(2**31, 0), (2**63 - 1, 2**31 - 1), (2**63, 0)])
def test_a_forged_offset_past_the_int32_range_is_invalid_page_token(
    server: ServerThread, channel: grpc.Channel, offset: int, skip: int
) -> None:
    tenant = new_tenant(server)
    _first_page_token(server, channel, tenant)
    # Signed with the server's own secret: the offset's bound holds even then.
    forged = _signer(server).seal(offset, query_fingerprint(user_service_pb2.ListUsersRequest()))
    _assert_invalid_page_token(_list_users_page(channel, tenant, forged, skip))
