"""data lifecycle: erasure jobs and receipts, pinned retention, account retention default

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

from meetstore.adapters.db.tables import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bots", schema=None) as batch_op:
        batch_op.add_column(sa.Column("deletion_requested_at", UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("deletion_reason", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("deletion", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("retention_hours", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("retention_expires_at", UTCDateTime(), nullable=True))
        batch_op.create_index("ix_bots_retention_expires", ["retention_expires_at"])
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retention", sa.JSON(), nullable=True))
    op.create_table(
        "erasures",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("bot_id", sa.String(length=36), sa.ForeignKey("bots.id"), nullable=False),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("reason", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTCDateTime(), nullable=True),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_expires_at", UTCDateTime(), nullable=True),
        sa.Column("objects", sa.JSON(), nullable=False),
        sa.Column("requested_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
    )
    op.create_index("ix_erasures_claim", "erasures", ["state", "next_attempt_at"])
    op.create_index("ix_erasures_bot", "erasures", ["bot_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_erasures_bot", table_name="erasures")
    op.drop_index("ix_erasures_claim", table_name="erasures")
    op.drop_table("erasures")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("retention")
    with op.batch_alter_table("bots", schema=None) as batch_op:
        batch_op.drop_index("ix_bots_retention_expires")
        for column in ("retention_expires_at", "retention_hours", "deletion", "deletion_reason", "deletion_requested_at"):
            batch_op.drop_column(column)
