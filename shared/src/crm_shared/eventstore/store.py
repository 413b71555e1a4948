"""The event store on PostgreSQL: append with optimistic concurrency, read streams and the log.

Appending the events of one command is one transaction, and the service's own read tables are
written in that same transaction (``UnitOfWork.connection``), so a client reads its own writes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, Text, cast, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crm_shared.errors import ConcurrencyConflict
from crm_shared.eventstore.migrate import validate_schema_name
from crm_shared.eventstore.model import EventMetadata, NewEvent, RecordedEvent
from crm_shared.eventstore.schema import events, schema_map

# Taking the transaction id before any position is drawn from the identity sequence is what
# lets the relay know that every transaction that could still fill a gap is in its snapshot.
def _current_version_query(stream_id: str) -> Select[tuple[str, int]]:
    version = (
        select(func.coalesce(func.max(events.c.stream_version), 0))
        .where(events.c.stream_id == stream_id)
        .scalar_subquery()
    )
    return select(cast(func.pg_current_xact_id(), Text).label("xid"), version.label("version"))


class EventStore:
    """One service's event store: the ``events`` table of its schema."""

    def __init__(self, engine: AsyncEngine, schema: str) -> None:
        self.schema = validate_schema_name(schema)
        self.engine = engine.execution_options(schema_translate_map=schema_map(self.schema))

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[UnitOfWork]:
        """A transaction: commits when the block ends normally, rolls back on any exception."""
        async with self.engine.begin() as connection:
            yield UnitOfWork(connection)

    async def append(
        self,
        stream_id: str,
        expected_version: int,
        new_events: Sequence[NewEvent],
        metadata: EventMetadata,
    ) -> list[RecordedEvent]:
        """Append in a transaction of its own (for callers with no read tables to update)."""
        async with self.unit_of_work() as uow:
            return await uow.append(stream_id, expected_version, new_events, metadata)

    async def read_stream(
        self, stream_id: str, *, as_of: datetime | None = None, from_version: int = 1
    ) -> list[RecordedEvent]:
        async with self.engine.connect() as connection:
            return await read_stream(connection, stream_id, as_of=as_of, from_version=from_version)

    async def read_all(self, after_position: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        """Events in global-position order, strictly after ``after_position``."""
        query = (
            select(events)
            .where(events.c.global_position > after_position)
            .order_by(events.c.global_position)
            .limit(limit)
        )
        async with self.engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        return [recorded_event_from_row(row) for row in rows]

    async def stream_version(self, stream_id: str) -> int:
        async with self.engine.connect() as connection:
            return await _stream_version(connection, stream_id)

    async def head_position(self) -> int:
        """The highest global position written so far (0 for an empty store)."""
        async with self.engine.connect() as connection:
            result = await connection.execute(select(func.max(events.c.global_position)))
            return int(result.scalar_one() or 0)


class UnitOfWork:
    """An open transaction: append events and write read tables, all or nothing."""

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection

    async def append(
        self,
        stream_id: str,
        expected_version: int,
        new_events: Sequence[NewEvent],
        metadata: EventMetadata,
    ) -> list[RecordedEvent]:
        """Append ``new_events`` as versions ``expected_version + 1 ...`` of the stream.

        Raises ``ConcurrencyConflict`` (with the actual version) when the stream is not at
        ``expected_version``, including when a concurrent writer got there first.
        """
        if expected_version < 0:
            raise ValueError("expected_version must be >= 0 (0: the stream must not exist)")
        if not new_events:
            return []
        current = (
            await self.connection.execute(_current_version_query(stream_id))
        ).one()
        if current.version != expected_version:
            raise ConcurrencyConflict(stream_id, expected_version, current.version)

        metadata_json = metadata.to_json()
        rows = [
            {
                "event_id": event.event_id,
                "stream_id": stream_id,
                "stream_version": expected_version + index,
                "event_type": event.event_type,
                "schema_version": event.schema_version,
                "partition_key": event.partition_key,
                "subject": event.subject,
                "tenant_id": metadata.tenant_id,
                "data": event.data,
                "metadata": metadata_json,
                "occurred_at": event.occurred_at,
            }
            for index, event in enumerate(new_events, start=1)
        ]
        # A concurrent writer of the same versions makes this wait for its commit; then the
        # conflicting rows are skipped rather than aborting the caller's transaction.
        statement = (
            pg_insert(events)
            .values(rows)
            .on_conflict_do_nothing(constraint="events_stream_version_key")
            .returning(events.c.global_position, events.c.recorded_at, events.c.stream_version)
        )
        written = (await self.connection.execute(statement)).all()
        if len(written) != len(rows):
            actual = await _stream_version(self.connection, stream_id)
            raise ConcurrencyConflict(stream_id, expected_version, actual)
        by_version = {row.stream_version: row for row in written}
        return [
            RecordedEvent(
                global_position=by_version[row["stream_version"]].global_position,
                event_id=event.event_id,
                stream_id=stream_id,
                stream_version=row["stream_version"],
                event_type=event.event_type,
                schema_version=event.schema_version,
                partition_key=event.partition_key,
                subject=event.subject,
                data=event.data,
                metadata=metadata,
                occurred_at=event.occurred_at,
                recorded_at=by_version[row["stream_version"]].recorded_at,
            )
            for event, row in zip(new_events, rows, strict=True)
        ]

    async def read_stream(
        self, stream_id: str, *, as_of: datetime | None = None, from_version: int = 1
    ) -> list[RecordedEvent]:
        return await read_stream(self.connection, stream_id, as_of=as_of, from_version=from_version)


async def read_stream(
    connection: AsyncConnection,
    stream_id: str,
    *,
    as_of: datetime | None = None,
    from_version: int = 1,
) -> list[RecordedEvent]:
    """The stream's events in version order; with ``as_of``, only those recorded by then."""
    query = (
        select(events)
        .where(events.c.stream_id == stream_id, events.c.stream_version >= from_version)
        .order_by(events.c.stream_version)
    )
    if as_of is not None:
        if as_of.tzinfo is None:
            raise ValueError("as_of must be timezone-aware")
        query = query.where(events.c.recorded_at <= as_of)
    rows = (await connection.execute(query)).all()
    return [recorded_event_from_row(row) for row in rows]


async def _stream_version(connection: AsyncConnection, stream_id: str) -> int:
    result = await connection.execute(
        select(func.coalesce(func.max(events.c.stream_version), 0)).where(
            events.c.stream_id == stream_id
        )
    )
    return int(result.scalar_one())


def recorded_event_from_row(row: Row[Any]) -> RecordedEvent:
    return RecordedEvent(
        global_position=row.global_position,
        event_id=row.event_id,
        stream_id=row.stream_id,
        stream_version=row.stream_version,
        event_type=row.event_type,
        schema_version=row.schema_version,
        partition_key=row.partition_key,
        subject=row.subject,
        data=row.data,
        metadata=EventMetadata.from_json(row.metadata),
        occurred_at=row.occurred_at,
        recorded_at=row.recorded_at,
    )


