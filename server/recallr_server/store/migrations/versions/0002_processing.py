"""Jobs, session summaries, memory attributes and embeddings.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "process_session",
                "resolve_merge_conflict",
                name="job_kind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("subject_id", sa.String(length=36), nullable=False),
        sa.Column("user_pk", sa.String(length=36), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "queued",
                "running",
                "done",
                "failed",
                name="job_status",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("run_after", sa.DateTime(), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_pk"], ["users.pk"], name=op.f("fk_jobs_user_pk_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
        sa.UniqueConstraint("kind", "subject_id", name=op.f("uq_jobs_kind_subject_id")),
    )
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index("ix_jobs_claimable", ["status", "run_after"], unique=False)

    op.create_table(
        "session_summaries",
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("user_pk", sa.String(length=36), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("embedding", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_session_summaries_session_id_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_pk"],
            ["users.pk"],
            name=op.f("fk_session_summaries_user_pk_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("session_id", name=op.f("pk_session_summaries")),
    )
    with op.batch_alter_table("session_summaries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_session_summaries_user_pk"), ["user_pk"], unique=False)

    with op.batch_alter_table("memories", schema=None) as batch_op:
        batch_op.add_column(sa.Column("subject_key", sa.String(length=256), nullable=True))
        batch_op.add_column(sa.Column("attribute_key", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("attribute_value", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("embedding", sa.LargeBinary(), nullable=True))

    with op.batch_alter_table("merge_conflicts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "proposal",
                sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                nullable=False,
                server_default="{}",
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("merge_conflicts", schema=None) as batch_op:
        batch_op.drop_column("proposal")

    with op.batch_alter_table("memories", schema=None) as batch_op:
        batch_op.drop_column("embedding")
        batch_op.drop_column("attribute_value")
        batch_op.drop_column("attribute_key")
        batch_op.drop_column("subject_key")

    with op.batch_alter_table("session_summaries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_session_summaries_user_pk"))

    op.drop_table("session_summaries")
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_claimable")

    op.drop_table("jobs")
