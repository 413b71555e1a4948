"""Tables of the event store, declared once for every service.

The tables are declared in the placeholder schema ``eventstore``; each service's engine maps it
to its own PostgreSQL schema with SQLAlchemy's ``schema_translate_map``, so one set of
statements serves every service and no service touches another's tables.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Integer,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

PLACEHOLDER_SCHEMA = "eventstore"

metadata = MetaData(schema=PLACEHOLDER_SCHEMA)

events = Table(
    "events",
    metadata,
    Column("global_position", BigInteger, Identity(always=True), primary_key=True),
    Column("event_id", UUID(as_uuid=True), nullable=False, unique=True),
    Column("stream_id", Text, nullable=False),
    Column("stream_version", Integer, nullable=False),
    Column("event_type", Text, nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("partition_key", Text, nullable=False),
    Column("subject", Text, nullable=True),
    Column("tenant_id", Text, nullable=False),
    Column("data", JSONB, nullable=False),
    Column("metadata", JSONB, nullable=False),
    Column("occurred_at", DateTime(timezone=True), nullable=False),
    Column(
        "recorded_at",
        DateTime(timezone=True),
        nullable=False,
        server_default=text("clock_timestamp()"),
    ),
    UniqueConstraint("stream_id", "stream_version", name="events_stream_version_key"),
)

relay_checkpoints = Table(
    "relay_checkpoints",
    metadata,
    Column("topic", Text, primary_key=True),
    Column("position", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
)

processed_events = Table(
    "processed_events",
    metadata,
    Column("consumer", Text, primary_key=True),
    Column("event_id", Text, primary_key=True),
    Column("processed_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
)


def schema_map(schema: str) -> dict[str | None, str | None]:
    """The ``schema_translate_map`` that points the declared tables at a service's schema."""
    return {PLACEHOLDER_SCHEMA: schema}
