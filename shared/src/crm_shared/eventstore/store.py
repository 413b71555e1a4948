"""The event store on PostgreSQL: append with optimistic concurrency, read streams and the log.

Appending the events of one command is one transaction, and the service's own read tables are
written in that same transaction (``UnitOfWork.connection``), so a client reads its own writes.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crm_shared.errors import ConcurrencyConflict
from crm_shared.eventstore.commits import COMMITS
from crm_shared.eventstore.migrate import validate_schema_name
from crm_shared.eventstore.model import EventMetadata, NewEvent, RecordedEvent
from crm_shared.eventstore.requirements import STREAM_EXISTS, STREAM_MOVED, refusals, requirement
from crm_shared.eventstore.schema import events, schema_map
from crm_shared.sql import DriverStatements, driver_of, pooled_reads

# Every unit of work takes its transaction id in the same round trip as its BEGIN, so before it
# can draw any position from the identity sequence. Then any transaction that could still fill
# a gap the relay sees is listed as in progress in the relay's snapshot (``relay.gaps``).
# (Taking it inside the INSERT statement is not enough: measured, PostgreSQL may draw the
# position before the statement's other expressions assign the id.)
_BEGIN = "BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_current_xact_id()"


_EVENT_COLUMNS = (
    "global_position, event_id, stream_id, stream_version, event_type, schema_version,"
    " partition_key, subject, data, metadata, occurred_at, recorded_at"
)


class _Statements:
    """The append path's SQL for one schema, in the driver's own dialect ($n parameters; but
    ``start_streams``, which a caller's statement may hold).

    It runs on the asyncpg connection itself, prepared once per connection: the append is the
    platform's hottest path, and SQLAlchemy's statement layer costs more CPU than the
    statement does. One round trip checks the version and inserts; the insert writes nothing
    unless the stream is at the expected version.
    """

    def __init__(self, schema: str) -> None:
        self.schema = schema
        self.append = (
            "WITH current AS ("
            " SELECT coalesce(max(stream_version), 0) AS version"
            f' FROM "{schema}".events WHERE stream_id = $1),'
            " written AS ("
            f' INSERT INTO "{schema}".events (event_id, stream_id, stream_version, event_type,'
            " schema_version, partition_key, subject, tenant_id, data, metadata, occurred_at)"
            " SELECT e.event_id, $1, e.stream_version, e.event_type, e.schema_version,"
            " e.partition_key, e.subject, $3, e.data::jsonb, $4::jsonb, e.occurred_at"
            " FROM current, unnest($5::uuid[], $6::integer[], $7::text[], $8::integer[],"
            " $9::text[], $10::text[], $11::text[], $12::timestamptz[])"
            " AS e(event_id, stream_version, event_type, schema_version, partition_key,"
            " subject, data, occurred_at)"
            " WHERE current.version = $2"
            # Rows a concurrent writer holds are skipped; positions grow with versions.
            " ORDER BY e.stream_version"
            " ON CONFLICT ON CONSTRAINT events_stream_version_key DO NOTHING"
            " RETURNING global_position, recorded_at, stream_version)"
            " SELECT current.version AS current_version, written.global_position,"
            " written.recorded_at, written.stream_version"
            " FROM current LEFT JOIN written ON true"
        )
        # ``:name`` parameters (``crm_shared.sql.positional``): run alone by
        # ``append_new_streams``, or inside a statement of the caller's (``StreamStart``).
        # The rows are joined with the transaction's own id, so that it is assigned before
        # any position is drawn (they are drawn above the sort of the joined rows; the id is
        # tested, or the planner drops it as unused): the relay's gap rule holds even when
        # the statement is a transaction of its own, with no BEGIN before it
        # (``EventStore.fetch_as_transaction``).
        self.start_streams = (
            f'INSERT INTO "{schema}".events (event_id, stream_id, stream_version, event_type,'
            " schema_version, partition_key, subject, tenant_id, data, metadata, occurred_at)"
            " SELECT e.event_id, e.stream_id, e.stream_version, e.event_type, e.schema_version,"
            " e.partition_key, e.subject, :stream_tenant, CAST(e.data AS jsonb),"
            " CAST(:stream_metadata AS jsonb), e.occurred_at"
            " FROM unnest(CAST(:stream_event_ids AS uuid[]), CAST(:stream_ids AS text[]),"
            " CAST(:stream_versions AS integer[]), CAST(:stream_event_types AS text[]),"
            " CAST(:stream_schema_versions AS integer[]), CAST(:stream_partition_keys AS text[]),"
            " CAST(:stream_subjects AS text[]), CAST(:stream_data AS text[]),"
            " CAST(:stream_occurred_at AS timestamptz[]))"
            " AS e(event_id, stream_id, stream_version, event_type, schema_version,"
            " partition_key, subject, data, occurred_at)"
            " CROSS JOIN (SELECT pg_current_xact_id() AS id OFFSET 0) AS own_transaction"
            " WHERE own_transaction.id IS NOT NULL"
            " ORDER BY e.stream_id, e.stream_version"
            " ON CONFLICT ON CONSTRAINT events_stream_version_key DO NOTHING"
            " RETURNING stream_id"
        )
        self.stream_version = self.version_of("$1")
        # $3: recorded by then; NULL for now (the planner folds "$3 IS NULL" per execution).
        self.read_stream = (
            f"SELECT {_EVENT_COLUMNS}"
            f' FROM "{schema}".events WHERE stream_id = $1 AND stream_version >= $2'
            " AND ($3::timestamptz IS NULL OR recorded_at <= $3::timestamptz)"
            " ORDER BY stream_version"
        )
        self.read_streams = (
            f"SELECT {_EVENT_COLUMNS}"
            f' FROM "{schema}".events WHERE stream_id = ANY($1::text[])'
            " ORDER BY stream_id, stream_version"
        )

    def version_of(self, stream: str) -> str:
        """The query of a stream's version; ``stream`` is an SQL expression (a parameter)."""
        return (
            f'SELECT coalesce(max(stream_version), 0) FROM "{self.schema}".events'
            f" WHERE stream_id = {stream}"
        )


class EventStore:
    """One service's event store: the ``events`` table of its schema."""

    def __init__(self, engine: AsyncEngine, schema: str) -> None:
        self.schema = validate_schema_name(schema)
        self.engine = engine.execution_options(schema_translate_map=schema_map(self.schema))
        self._statements = _Statements(self.schema)

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[UnitOfWork]:
        """A transaction: commits when the block ends normally, rolls back on any exception.

        The transaction is the driver connection's own; ``UnitOfWork.connection`` is a
        SQLAlchemy connection in autocommit mode on that same driver connection, so that
        SQLAlchemy issues no BEGIN or COMMIT of its own and every statement, the service's
        read-table writes included, belongs to this one transaction.
        """
        async with self.engine.connect() as connection:
            await connection.execution_options(isolation_level="AUTOCOMMIT")
            driver = await driver_of(connection)
            await driver.execute(_BEGIN)
            uow = UnitOfWork(connection, driver, self._statements)
            try:
                yield uow
            except BaseException:
                with suppress(Exception):  # a broken connection has nothing left to undo
                    await driver.execute("ROLLBACK")
                raise
            await driver.execute("COMMIT")
            if uow.appended:
                COMMITS.committed(self.schema)

    @asynccontextmanager
    async def joined(self, connection: AsyncConnection) -> AsyncIterator[UnitOfWork]:
        """A unit of work inside the transaction the caller has open on ``connection``.

        For a consumer that appends events in the same transaction as its idempotency claim:
        it neither begins nor commits. The transaction gets its id now, before any event
        position is drawn, as the relay's gap rule requires.
        """
        await connection.execution_options(schema_translate_map=schema_map(self.schema))
        await connection.execute(text("SELECT pg_current_xact_id()"))
        driver = await driver_of(connection)
        yield UnitOfWork(connection, driver, self._statements)

    def start_stream(
        self, stream_id: str, new_events: Sequence[NewEvent], metadata: EventMetadata
    ) -> StreamStart:
        """A new stream's events for a statement run by ``fetch_as_transaction``; see
        ``UnitOfWork.start_stream``."""
        return _stream_start(self._statements, stream_id, new_events, metadata)

    async def fetch_as_transaction(
        self, statement: str, params: Mapping[str, Any], *, writes_events: bool
    ) -> list[Any]:
        """Rows of one statement (``:name`` parameters) that is a transaction of its own: one
        round trip, where a unit of work takes three (BEGIN, the statement, COMMIT). All of
        it is written or none; what must hold for it to be kept, the statement checks itself
        (``requirements``: ``Refused`` when one fails). Events it writes must come from
        ``start_stream``, whose INSERT takes the transaction's id before drawing positions."""
        async with pooled_reads(self.engine) as reads:
            with refusals:
                rows = await reads.fetch(statement, params)
        if writes_events:
            COMMITS.committed(self.schema)
        return rows

    def stream_at(self, stream: str, version: str) -> str:
        """A requirement (``requirements``) that the stream ``stream`` is still at ``version``
        (SQL expressions, such as parameters): what was read before the statement holds."""
        return requirement(
            self.schema, f"({self._statements.version_of(stream)}) = {version}", STREAM_MOVED
        )

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


@dataclass(frozen=True)
class StreamStart:
    """A new stream's first events as an INSERT (``:name`` parameters) for the caller to run
    inside a statement of its own, a WITH query that writes the aggregate's rows too: the
    command's writes in one round trip. The caller's statement names the INSERT's result
    (a WITH query) and selects ``requirement`` of that name: if the stream existed, not every
    event is written and the statement is ``Refused`` (``STREAM_EXISTS``)."""

    stream_id: str
    statement: str
    params: dict[str, Any]
    schema: str

    def requirement(self, started: str) -> str:
        """That the WITH query ``started`` (this INSERT) wrote every event."""
        written = f"(SELECT count(*) FROM {started}) = CAST(:stream_events AS bigint)"
        return requirement(self.schema, written, STREAM_EXISTS)


def _stream_start(
    statements: _Statements,
    stream_id: str,
    new_events: Sequence[NewEvent],
    metadata: EventMetadata,
) -> StreamStart:
    if not new_events:
        raise ValueError("a stream starts with at least one event")
    rows = [(stream_id, version, event) for version, event in enumerate(new_events, start=1)]
    params = {**_start_params(rows, metadata), "stream_events": len(rows)}
    return StreamStart(stream_id, statements.start_streams, params, statements.schema)


def _start_params(
    rows: Sequence[tuple[str, int, NewEvent]], metadata: EventMetadata
) -> dict[str, Any]:
    """``start_streams``' parameters for (stream, version, event) rows."""
    return {
        "stream_tenant": metadata.tenant_id,
        "stream_metadata": json.dumps(metadata.to_json()),
        "stream_event_ids": [event.event_id for _, _, event in rows],
        "stream_ids": [stream_id for stream_id, _, _ in rows],
        "stream_versions": [version for _, version, _ in rows],
        "stream_event_types": [event.event_type for _, _, event in rows],
        "stream_schema_versions": [event.schema_version for _, _, event in rows],
        "stream_partition_keys": [event.partition_key for _, _, event in rows],
        "stream_subjects": [event.subject for _, _, event in rows],
        "stream_data": [json.dumps(event.data) for _, _, event in rows],
        "stream_occurred_at": [event.occurred_at for _, _, event in rows],
    }


class UnitOfWork:
    """An open transaction: append events and write read tables, all or nothing."""

    def __init__(self, connection: AsyncConnection, driver: Any, statements: _Statements) -> None:
        self.connection = connection
        self._driver = driver
        self._on_driver = DriverStatements(driver)
        self._statements = statements
        self.appended = False
        """Whether events were written (the relay is told when they commit)."""

    async def fetch(self, statement: str, params: Mapping[str, Any]) -> list[Any]:
        """Rows of ``statement`` (``:name`` parameters, as for ``sql``) run on the driver
        connection in this transaction; each row reads by column name (``row["name"]``).

        For the hottest statements of a command: it skips SQLAlchemy's statement layer, and the
        driver prepares the statement once per connection. jsonb columns come back decoded.
        A requirement of the statement that fails (``requirements``) is ``Refused``.
        """
        with refusals:
            return await self._on_driver.fetch(statement, params)

    async def execute(self, statement: str, params: Mapping[str, Any]) -> int:
        """Run ``statement`` as ``fetch`` does; returns the number of rows it changed."""
        with refusals:
            return await self._on_driver.execute(statement, params)

    async def append_new_streams(
        self, streams: Sequence[tuple[str, Sequence[NewEvent]]], metadata: EventMetadata
    ) -> int:
        """Start many streams at once (bulk imports): one statement for all their events.

        Every stream must be new; if one exists already, ``ConcurrencyConflict`` names it and
        the caller's transaction must roll back (nothing of it may stay). Returns the number
        of events written.
        """
        rows = [
            (stream_id, version, event)
            for stream_id, events in streams
            for version, event in enumerate(events, start=1)
        ]
        if not rows:
            return 0
        self.appended = True
        written = await self._on_driver.fetch(
            self._statements.start_streams, _start_params(rows, metadata)
        )
        if len(written) != len(rows):
            taken = {row["stream_id"] for row in written}
            existing = next((s for s, _ in streams if s not in taken), streams[0][0])
            actual = await self._driver.fetchval(self._statements.stream_version, existing)
            raise ConcurrencyConflict(existing, 0, int(actual))
        return len(written)

    def start_stream(
        self, stream_id: str, new_events: Sequence[NewEvent], metadata: EventMetadata
    ) -> StreamStart:
        """The events of a stream that must not exist yet, as versions 1, 2..., to be written
        by the caller's statement (see ``StreamStart``). Its position is drawn when that
        statement runs: as with ``append``, let it be the transaction's last."""
        start = _stream_start(self._statements, stream_id, new_events, metadata)
        self.appended = True
        return start

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
        self.appended = True
        rows = await self._driver.fetch(
            self._statements.append,
            stream_id,
            expected_version,
            metadata.tenant_id,
            json.dumps(metadata.to_json()),
            [event.event_id for event in new_events],
            versions,
            [event.event_type for event in new_events],
            [event.schema_version for event in new_events],
            [event.partition_key for event in new_events],
            [event.subject for event in new_events],
            [json.dumps(event.data) for event in new_events],
            [event.occurred_at for event in new_events],
        )
        written = [row for row in rows if row["global_position"] is not None]
        if len(written) != len(new_events):
            # Either the stream had moved on, or a concurrent writer took these versions
            # while we waited for it; its commit is visible to this new statement.
            actual = await self._driver.fetchval(self._statements.stream_version, stream_id)
            raise ConcurrencyConflict(stream_id, expected_version, int(actual))
        by_version = {row["stream_version"]: row for row in written}
        return [
            RecordedEvent(
                global_position=by_version[version]["global_position"],
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
                recorded_at=by_version[version]["recorded_at"],
            )
            for event, version in zip(new_events, versions, strict=True)
        ]

    async def read_stream(
        self, stream_id: str, *, as_of: datetime | None = None, from_version: int = 1
    ) -> list[RecordedEvent]:
        """The stream's events in version order, as ``read_stream`` reads them, in this
        transaction (on the driver connection: every command on a stream starts here)."""
        if as_of is not None and as_of.tzinfo is None:
            raise ValueError("as_of must be timezone-aware")
        rows = await self._driver.fetch(
            self._statements.read_stream, stream_id, from_version, as_of
        )
        return [recorded_event_from_row(row) for row in rows]

    async def read_streams(self, stream_ids: Sequence[str]) -> dict[str, list[RecordedEvent]]:
        """Several streams' events at once (one statement: a command that needs its
        aggregate and a catalogue, say), each in version order; an empty list for a stream
        with no events."""
        read: dict[str, list[RecordedEvent]] = {stream_id: [] for stream_id in stream_ids}
        for row in await self._driver.fetch(self._statements.read_streams, list(read)):
            read[row["stream_id"]].append(recorded_event_from_row(row))
        return read


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


def recorded_event_from_row(row: Any) -> RecordedEvent:
    """An event from a row of SQLAlchemy's (read through its mapping) or of the driver's."""
    columns = getattr(row, "_mapping", row)
    return RecordedEvent(
        global_position=columns["global_position"],
        event_id=columns["event_id"],
        stream_id=columns["stream_id"],
        stream_version=columns["stream_version"],
        event_type=columns["event_type"],
        schema_version=columns["schema_version"],
        partition_key=columns["partition_key"],
        subject=columns["subject"],
        data=columns["data"],
        metadata=EventMetadata.from_json(columns["metadata"]),
        occurred_at=columns["occurred_at"],
        recorded_at=columns["recorded_at"],
    )
