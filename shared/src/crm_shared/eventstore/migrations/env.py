"""Alembic environment for the event store tables of one service's schema.

Run through ``crm_shared.eventstore.migrate``, which hands over an open connection and the
target schema in ``config.attributes``; the version table lives in that schema too, so every
service migrates independently.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

connection: Connection = context.config.attributes["connection"]
schema: str = context.config.attributes["schema"]

# Replicas starting together migrate one after the other, not on top of each other.
connection.execute(
    text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"migrate:{schema}"}
)
connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
context.configure(
    connection=connection,
    version_table_schema=schema,
    include_schemas=True,
)
with context.begin_transaction():
    context.run_migrations()
