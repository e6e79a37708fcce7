"""Sessions at the ends of the calendar, stored before times were bounded or by another path.

The API no longer accepts a session time outside its documented range, but rows written
earlier (or straight into the database) may hold one: year 1 or 9999. Processing such a
session, and recalling context beside it in any time zone, must still answer: a phrase
whose date would fall off the calendar stays as written, a time that cannot be shown in
the reader's zone is shown in UTC, and nothing ends in an INTERNAL error.
"""

from __future__ import annotations

import time
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from sqlalchemy import update

from recallr.v1 import context_service_pb2 as context_pb
from recallr.v1 import session_pb2
from recallr.v1 import session_service_pb2 as session_pb
from recallr_server.store import models
from tests.api.wire import Stubs, stubs
from tests.conftest import Tenant
from tests.support import seed

USER = "ada"
EDGES = {
    "year-1": datetime(1, 1, 1, tzinfo=UTC),
    "year-9999": datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
}
# Every kind of phrase temporal resolution reads, each shifting away from the session's day.
SAID = (
    "I moved to Lisbon yesterday, and tomorrow I fly to Oslo.",
    "Two days ago I adopted a cat; in 3 years I will retire.",
    "Last winter I learned the piano. Next year I start a new job.",
    "See you next Monday, or the weekend after next. The week before last was busy.",
    "In mid-December I ran a marathon, and in early January I will run another.",
    "I was born on 1 January, and the past few months were hard. Recently I quit smoking.",
)


def _offsets(name: str) -> tuple[timedelta, timedelta]:
    """A zone's UTC offsets at the two ends of the calendar (its local mean time at year 1)."""
    zone = zoneinfo.ZoneInfo(name)
    first = datetime(1, 1, 2, tzinfo=UTC).astimezone(zone).utcoffset()
    last = datetime(9999, 12, 30, tzinfo=UTC).astimezone(zone).utcoffset()
    assert first is not None and last is not None
    return first, last


ALL_ZONES = sorted(zoneinfo.available_timezones())
# The zones that reach furthest past each end of the calendar, either way, and UTC: whether
# a time can be shown depends on the offset alone. tests/unit/test_calendar_edges.py
# renders in every zone.
EXTREME_ZONES = sorted(
    {"UTC"}
    | {min(ALL_ZONES, key=lambda name: _offsets(name)[end]) for end in (0, 1)}
    | {max(ALL_ZONES, key=lambda name: _offsets(name)[end]) for end in (0, 1)}
)


@dataclass(frozen=True)
class Edges:
    tenant: Tenant
    sessions: dict[str, str]
    current: str


async def _edge_session(tenant: Tenant, user: seed.SeededUser, when: datetime) -> str:
    db = tenant.server.db
    session_id = await seed.add_session(db, user, status=models.SessionStatus.PENDING)
    for content in SAID:
        await seed.add_message(db, user, session_id, content)
    # The session and its messages dated at the edge, as a row written by another path.
    async with db.write() as session:
        for table, key in (
            (models.Session, models.Session.id),
            (models.Message, models.Message.session_id),
        ):
            await session.execute(update(table).where(key == session_id).values(created_at=when))
    return session_id


def _process(api: Stubs, tenant: Tenant, session_id: str) -> session_pb2.Session:
    api.sessions.ProcessSession(
        session_pb.ProcessSessionRequest(user_id=USER, session_id=session_id),
        metadata=tenant.metadata,
    )
    deadline = time.monotonic() + 120
    while True:
        session = api.sessions.GetSession(
            session_pb.GetSessionRequest(user_id=USER, session_id=session_id),
            metadata=tenant.metadata,
        ).session
        if session.status != session_pb2.SESSION_STATUS_PROCESSING:
            return session
        assert time.monotonic() < deadline, "still processing"
        time.sleep(0.1)


@pytest.fixture
def edges(tenant: Tenant, channel: grpc.Channel) -> Edges:
    user = tenant.run(seed.add_user(tenant.server.db, tenant.project_id, USER))
    sessions = {name: tenant.run(_edge_session(tenant, user, when)) for name, when in EDGES.items()}
    current = tenant.run(seed.add_session(tenant.server.db, user))
    tenant.run(seed.add_message(tenant.server.db, user, current, "Where did I move last year?"))
    return Edges(tenant, sessions, current)


def test_sessions_at_the_ends_of_the_calendar_are_processed(
    edges: Edges, channel: grpc.Channel
) -> None:
    api = stubs(channel)
    for name, session_id in edges.sessions.items():
        session = _process(api, edges.tenant, session_id)
        assert session.status == session_pb2.SESSION_STATUS_PROCESSED, (
            name,
            session.failure_reason,
        )


def test_context_beside_them_is_recalled_in_the_zones_furthest_from_utc(
    edges: Edges, channel: grpc.Channel
) -> None:
    api = stubs(channel)
    for session_id in edges.sessions.values():
        _process(api, edges.tenant, session_id)
    for current in (edges.current, *edges.sessions.values()):
        for zone in EXTREME_ZONES:
            options = context_pb.RecallOptions(
                memories_threshold=0.0,
                summaries_threshold=0.0,
                last_n_messages=10,
                last_n_summaries=10,
                timezone=zone,
            )
            api.context.RecallContext(
                context_pb.RecallContextRequest(user_id=USER, session_id=current, options=options),
                metadata=edges.tenant.metadata,
            )
