"""The event store on PostgreSQL: append with optimistic concurrency, read streams and the log.

Appending the events of one command is one transaction, and the service's own read tables are
written in that same transaction (``UnitOfWork.connection``), so a client reads its own writes.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crm_shared.errors import ConcurrencyConflict
from crm_shared.eventstore.migrate import validate_schema_name
from crm_shared.eventstore.model import EventMetadata, NewEvent, RecordedEvent
from crm_shared.eventstore.schema import events, schema_map


# Taking the transaction id before any position is drawn from the identity sequence is what
# lets the relay know that every transaction that could still fill a gap is in its snapshot.
class _Statements:
    """The append path's SQL for one schema: fixed text, so it is prepared once and reused.

    Taking the transaction id before any position is drawn from the identity sequence is what
    lets the relay know that every transaction that could still fill a gap is listed as in
    progress in its snapshot (see ``crm_shared.relay.gaps``).
    """

    def __init__(self, schema: str) -> None:
        # One round trip: the version check and the insert, which writes nothing unless the
        # stream is at the expected version. ``current`` is joined, hence evaluated (and the
        # transaction id assigned) before the insert draws its first position.
        self.append = text(
            "WITH current AS ("
            " SELECT pg_current_xact_id() AS xid, coalesce(max(stream_version), 0) AS version"
            f' FROM "{schema}".events WHERE stream_id = :stream_id),'
            " written AS ("
            f' INSERT INTO "{schema}".events (event_id, stream_id, stream_version, event_type,'
            " schema_version, partition_key, subject, tenant_id, data, metadata, occurred_at)"
            " SELECT e.event_id, :stream_id, e.stream_version, e.event_type, e.schema_version,"
            " e.partition_key, e.subject, :tenant_id, e.data::jsonb, CAST(:metadata AS jsonb),"
            " e.occurred_at"
            " FROM current, unnest(CAST(:event_ids AS uuid[]), CAST(:versions AS integer[]),"
            " CAST(:types AS text[]), CAST(:schema_versions AS integer[]),"
            " CAST(:keys AS text[]), CAST(:subjects AS text[]), CAST(:data AS text[]),"
            " CAST(:occurred AS timestamptz[]))"
            " AS e(event_id, stream_version, event_type, schema_version, partition_key,"
            " subject, data, occurred_at)"
            " WHERE current.version = :expected_version AND current.xid IS NOT NULL"
            # Rows a concurrent writer holds are skipped; positions grow with versions.
            " ORDER BY e.stream_version"
            " ON CONFLICT ON CONSTRAINT events_stream_version_key DO NOTHING"
            " RETURNING global_position, recorded_at, stream_version)"
            " SELECT current.version AS current_version, written.global_position,"
            " written.recorded_at, written.stream_version"
            " FROM current LEFT JOIN written ON true"
        )


class EventStore:
    """One service's event store: the ``events`` table of its schema."""

    def __init__(self, engine: AsyncEngine, schema: str) -> None:
        self.schema = validate_schema_name(schema)
        self.engine = engine.execution_options(schema_translate_map=schema_map(self.schema))
        self._statements = _Statements(self.schema)

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[UnitOfWork]:
        """A transaction: commits when the block ends normally, rolls back on any exception."""
        async with self.engine.begin() as connection:
            yield UnitOfWork(connection, self._statements)

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

    def __init__(self, connection: AsyncConnection, statements: _Statements) -> None:
        self.connection = connection
        self._statements = statements

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
        versions = list(range(expected_version + 1, expected_version + 1 + len(new_events)))
        parameters = {
            "stream_id": stream_id,
            "expected_version": expected_version,
            "tenant_id": metadata.tenant_id,
            "metadata": json.dumps(metadata.to_json()),
            "event_ids": [event.event_id for event in new_events],
            "versions": versions,
            "types": [event.event_type for event in new_events],
            "schema_versions": [event.schema_version for event in new_events],
            "keys": [event.partition_key for event in new_events],
            "subjects": [event.subject for event in new_events],
            "data": [json.dumps(event.data) for event in new_events],
            "occurred": [event.occurred_at for event in new_events],
        }
        result = await self.connection.execute(self._statements.append, parameters)
        written = [row for row in result.all() if row.global_position is not None]
        if len(written) != len(new_events):
            # Either the stream had moved on, or a concurrent writer took these versions
            # while we waited for it; its commit is visible to this new statement.
            actual = await _stream_version(self.connection, stream_id)
            raise ConcurrencyConflict(stream_id, expected_version, actual)
        by_version = {row.stream_version: row for row in written}
        return [
            RecordedEvent(
                global_position=by_version[version].global_position,
                event_id=event.event_id,
                stream_id=stream_id,
                stream_version=version,
                event_type=event.event_type,
                schema_version=event.schema_version,
                partition_key=event.partition_key,
                subject=event.subject,
                data=event.data,
                metadata=metadata,
                occurred_at=event.occurred_at,
                recorded_at=by_version[version].recorded_at,
            )
            for event, version in zip(new_events, versions, strict=True)
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
