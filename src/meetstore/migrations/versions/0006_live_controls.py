"""live controls and the status timeline: a bot's pauses, messages and images while in its
meeting, when it first reached each status, and when a scheduled bot joins

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

from meetstore.adapters.db.tables import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("controls", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("timeline", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("join_at", UTCDateTime(), nullable=True))
        batch_op.create_index("ix_bots_scheduled", ["status", "join_at"])


def downgrade() -> None:
    with op.batch_alter_table("bots", schema=None) as batch_op:
        batch_op.drop_index("ix_bots_scheduled")
        batch_op.drop_column("join_at")
        batch_op.drop_column("timeline")
        batch_op.drop_column("controls")
