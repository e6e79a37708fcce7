"""Drives processing scenarios through the public Python client."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from recallrai import RecallrAI, Session, User
from recallrai.models import MessageRole, SessionStatus
from recallrai.models import UserMemoryItem as Memory

USER, ASSISTANT = MessageRole.USER, MessageRole.ASSISTANT


def at(year: int, month: int, day: int, hour: int = 12) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def wait_until(condition: object, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def converse(
    user: User, when: datetime, *turns: tuple[MessageRole, str], **metadata: object
) -> Session:
    """A session at `when` with these turns, processed to the end."""
    session = user.create_session(custom_created_at_utc=when, metadata=metadata or None)
    for role, content in turns:
        session.add_message(role=role, content=content)
    session.process()

    def done() -> bool:
        session.refresh()
        return session.status in (SessionStatus.PROCESSED, SessionStatus.FAILED)

    wait_until(done, f"session {session.session_id} to be processed")
    assert session.status == SessionStatus.PROCESSED, session.failure_reason
    return session


def memories(user: User) -> list[Memory]:
    return list(user.list_memories(limit=200).items)


def only(user: User, *words: str) -> Memory:
    """The one current memory mentioning every word (case-insensitive)."""
    found = [m for m in memories(user) if all(w.lower() in m.content.lower() for w in words)]
    assert len(found) == 1, f"one memory with {words} in {[m.content for m in memories(user)]}"
    return found[0]


def open_client(target: str, project_id: str, api_key: str) -> RecallrAI:
    return RecallrAI(api_key=api_key, project_id=project_id, target=target)
