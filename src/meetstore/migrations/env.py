"""Alembic environment: runs with the connection `meetstore.adapters.db.migrate` hands it."""

from __future__ import annotations

from alembic import context

from meetstore.adapters.db.tables import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through `meetstore migrate`")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
