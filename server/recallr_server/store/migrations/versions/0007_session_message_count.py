"""Each session's message count, kept by AddMessage, so that its cap costs one read.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("message_count", sa.Integer(), server_default="0", nullable=False)
        )
    op.execute(
        "UPDATE sessions SET message_count = "
        "(SELECT count(*) FROM messages WHERE messages.session_id = sessions.id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_column("message_count")
