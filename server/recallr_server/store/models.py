"""The relational schema. Changes go through Alembic migrations only."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Enum,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# The domain's enums, stored as their values; named here too for the code that reads rows.
from recallr_server.domain.records import ExpirationReason as ExpirationReason
from recallr_server.domain.records import MergeConflictStatus as MergeConflictStatus
from recallr_server.domain.records import MessageRole as MessageRole
from recallr_server.domain.records import SessionStatus as SessionStatus
from recallr_server.store.types import JsonType, UTCDateTime

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

UUID_LENGTH = 36


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class JobKind(enum.StrEnum):
    PROCESS_SESSION = "process_session"
    RESOLVE_MERGE_CONFLICT = "resolve_merge_conflict"


class JobStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


def _enum(cls: type[enum.StrEnum], name: str) -> Enum:
    # Stored as plain strings (no native ENUM type) so adding a value never
    # needs an ALTER TYPE on PostgreSQL.
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=False,
        length=32,
        values_callable=lambda e: [m.value for m in e],
    )


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    merge_conflict_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ApiKey(Base):
    """An API key, stored only as its SHA-256 digest; the key is shown once."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(UUID_LENGTH), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters of the key, so an operator can tell keys apart.
    display_prefix: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(String(256), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class Category(Base):
    __tablename__ = "categories"

    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    description: Mapped[str] = mapped_column(Text, default="")


class User(Base):
    """An end user. `pk` is internal so renaming `user_id` touches one row."""

    __tablename__ = "users"
    __table_args__ = (UniqueConstraint("project_id", "user_id"),)

    pk: Mapped[str] = mapped_column(String(UUID_LENGTH), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(256))
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JsonType)
    merge_conflict_enabled: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_active_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Bumped by every write that changes what context recall searches, so that each
    # replica's cached index notices changes made through any other (store.revisions).
    index_revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Bumped by AddMessage instead, the one write that only appends (messages): a cached
    # index then loads just the messages after the newest one it holds.
    message_revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Session(Base):
    __tablename__ = "sessions"
    __table_args__ = (
        UniqueConstraint("user_pk", "request_id"),
        Index("ix_sessions_user_created", "user_pk", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(UUID_LENGTH), primary_key=True)
    user_pk: Mapped[str] = mapped_column(ForeignKey("users.pk", ondelete="CASCADE"))
    status: Mapped[SessionStatus] = mapped_column(_enum(SessionStatus, "session_status"))
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JsonType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    auto_process_after_seconds: Mapped[int] = mapped_column(Integer, default=0)
    failure_reason: Mapped[str] = mapped_column(Text, default="")
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    request_id: Mapped[str | None] = mapped_column(String(128), nullable=True)
    # What wrote the memories of a processed session: "local" or "model:<name>".
    extractor: Mapped[str] = mapped_column(Text, default="", server_default="")

    message_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Message(Base):
    """One turn. `seq` orders a user's messages across sessions."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("session_id", "request_id"),
        Index("ix_messages_user_seq", "user_pk", "seq"),
        Index("ix_messages_session_seq", "session_id", "seq"),
    )

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    id: Mapped[str] = mapped_column(String(UUID_LENGTH), unique=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    user_pk: Mapped[str] = mapped_column(ForeignKey("users.pk", ondelete="CASCADE"))
    role: Mapped[MessageRole] = mapped_column(_enum(MessageRole, "message_role"))
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    request_id: Mapped[str | None] = mapped_column(String(128), nullable=True)


class Memory(Base):
    """One version of a memory. Versions of one fact share `chain_id`.

    `chain_seq` orders versions; version numbers are derived from it so that
    deleting a version never leaves a gap.
    """

    __tablename__ = "memories"
    __table_args__ = (
        Index("ix_memories_user_current", "user_pk", "expired_at"),
        Index("ix_memories_chain", "chain_id", "chain_seq"),
    )

    id: Mapped[str] = mapped_column(String(UUID_LENGTH), primary_key=True)
    user_pk: Mapped[str] = mapped_column(ForeignKey("users.pk", ondelete="CASCADE"))
    chain_id: Mapped[str] = mapped_column(String(UUID_LENGTH))
    chain_seq: Mapped[int] = mapped_column(Integer)
    # Not a foreign key: a memory outlives the deletion of its session.
    session_id: Mapped[str | None] = mapped_column(String(UUID_LENGTH), nullable=True)
    content: Mapped[str] = mapped_column(Text)
    event_start_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    event_end_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expired_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    expiration_reason: Mapped[ExpirationReason | None] = mapped_column(
        _enum(ExpirationReason, "expiration_reason"), nullable=True
    )
    merge_conflict_id: Mapped[str | None] = mapped_column(String(UUID_LENGTH), nullable=True)
    source_message_ids: Mapped[list[str]] = mapped_column(JsonType)
    # Who the fact is about and which single-valued attribute it sets, if any
    # ("residence", "employer"): how consolidation recognises a changed fact.
    subject_key: Mapped[str | None] = mapped_column(String(256), nullable=True)
    attribute_key: Mapped[str | None] = mapped_column(String(128), nullable=True)
    attribute_value: Mapped[str | None] = mapped_column(Text, nullable=True)
    # float32 little-endian vector of the content, from the configured embedder.
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


class MemoryCategory(Base):
    __tablename__ = "memory_categories"
    __table_args__ = (Index("ix_memory_categories_category", "category", "memory_id"),)

    memory_id: Mapped[str] = mapped_column(
        ForeignKey("memories.id", ondelete="CASCADE"), primary_key=True
    )
    category: Mapped[str] = mapped_column(String(64), primary_key=True)


class MemoryLink(Base):
    """A connection between two memory chains, stored once with a < b."""

    __tablename__ = "memory_links"

    user_pk: Mapped[str] = mapped_column(ForeignKey("users.pk", ondelete="CASCADE"))
    chain_a: Mapped[str] = mapped_column(String(UUID_LENGTH), primary_key=True)
    chain_b: Mapped[str] = mapped_column(String(UUID_LENGTH), primary_key=True)


class MergeConflict(Base):
    __tablename__ = "merge_conflicts"
    __table_args__ = (
        Index("ix_merge_conflicts_user_status", "user_pk", "status"),
        ForeignKeyConstraint(["user_pk"], ["users.pk"], ondelete="CASCADE"),
    )

    id: Mapped[str] = mapped_column(String(UUID_LENGTH), primary_key=True)
    user_pk: Mapped[str] = mapped_column(String(UUID_LENGTH))
    session_id: Mapped[str | None] = mapped_column(String(UUID_LENGTH), nullable=True)
    status: Mapped[MergeConflictStatus] = mapped_column(
        _enum(MergeConflictStatus, "merge_conflict_status")
    )
    new_memory_content: Mapped[str] = mapped_column(Text)
    # [{"memory_id", "content", "reason"}]
    conflicting_memories: Mapped[list[dict[str, str]]] = mapped_column(JsonType)
    # [{"question", "options": [...]}]
    clarifying_questions: Mapped[list[dict[str, Any]]] = mapped_column(JsonType)
    # [{"question", "answer", "message"}]
    answers: Mapped[list[dict[str, str]]] = mapped_column(JsonType)
    new_memory_ids: Mapped[list[str]] = mapped_column(JsonType)
    # The proposed memory in full (categories, sources, event dates, attribute),
    # so a resolution can create it exactly as processing would have.
    proposal: Mapped[dict[str, Any]] = mapped_column(JsonType, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    failure_reason: Mapped[str] = mapped_column(Text, default="")


class SessionSummary(Base):
    __tablename__ = "session_summaries"

    session_id: Mapped[str] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True
    )
    user_pk: Mapped[str] = mapped_column(ForeignKey("users.pk", ondelete="CASCADE"), index=True)
    summary: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


class Job(Base):
    """Durable background work, claimed under a lease.

    One row per subject (a session to process, a conflict to resolve):
    re-queueing reuses it, so a subject can never have two jobs at once.
    """

    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("kind", "subject_id"),
        Index("ix_jobs_claimable", "status", "run_after"),
    )

    id: Mapped[str] = mapped_column(String(UUID_LENGTH), primary_key=True)
    kind: Mapped[JobKind] = mapped_column(_enum(JobKind, "job_kind"))
    subject_id: Mapped[str] = mapped_column(String(UUID_LENGTH))
    user_pk: Mapped[str] = mapped_column(ForeignKey("users.pk", ondelete="CASCADE"))
    status: Mapped[JobStatus] = mapped_column(_enum(JobStatus, "job_status"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    run_after: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_owner: Mapped[str | None] = mapped_column(String(64), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SharedSecret(Base):
    """A random secret that every replica on this database shares, made on first use."""

    __tablename__ = "shared_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
