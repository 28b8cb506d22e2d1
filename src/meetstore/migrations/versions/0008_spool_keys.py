"""spool keys: the sealed keys under which spooled recordings wait for upload

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

from meetstore.adapters.db.tables import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "spool_keys",
        sa.Column("kind", sa.String(length=8), primary_key=True),
        sa.Column("owner_id", sa.String(length=36), primary_key=True),
        sa.Column("account_id", sa.String(length=36), nullable=False),
        sa.Column("key_ct", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
    )
    op.create_index("ix_spool_keys_account", "spool_keys", ["account_id"])


def downgrade() -> None:
    op.drop_index("ix_spool_keys_account", table_name="spool_keys")
    op.drop_table("spool_keys")
