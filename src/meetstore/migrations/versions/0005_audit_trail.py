"""audit trail: hash-chained audit events per account

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

from meetstore.adapters.db.tables import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("audit_head", sa.String(length=64), nullable=True))
    with op.batch_alter_table("erasures", schema=None) as batch_op:
        batch_op.add_column(sa.Column("requested_by", sa.JSON(), nullable=True))
    op.create_table(
        "audit_events",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True
        ),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("actor", sa.JSON(), nullable=False),
        sa.Column("bot_id", sa.String(length=36), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
    )
    op.create_index("ix_audit_account", "audit_events", ["account_id", "id"])
    op.create_index("ix_audit_at", "audit_events", ["at"])


def downgrade() -> None:
    op.drop_index("ix_audit_at", table_name="audit_events")
    op.drop_index("ix_audit_account", table_name="audit_events")
    op.drop_table("audit_events")
    with op.batch_alter_table("erasures", schema=None) as batch_op:
        batch_op.drop_column("requested_by")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("audit_head")
