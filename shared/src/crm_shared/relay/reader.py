"""Reads the next committed events together with the snapshot they were read in."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Text, cast, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_shared.eventstore.model import RecordedEvent
from crm_shared.eventstore.schema import events, relay_checkpoints, schema_map
from crm_shared.eventstore.store import recorded_event_from_row
from crm_shared.relay.gaps import Snapshot


@dataclass(frozen=True, slots=True)
class Batch:
    events: list[RecordedEvent]
    snapshot: Snapshot | None


class OutboxReader:
    """The relay's view of one service's event store and its checkpoint per topic."""

    def __init__(self, engine: AsyncEngine, schema: str) -> None:
        self.engine = engine.execution_options(schema_translate_map=schema_map(schema))

    async def read_after(self, position: int, limit: int) -> Batch:
        """Events after ``position``, in order, and the snapshot of that one statement."""
        batch = (
            select(events)
            .where(events.c.global_position > position)
            .order_by(events.c.global_position)
            .limit(limit)
            .cte("batch")
        )
        # One statement, hence one snapshot for both the rows and pg_current_snapshot().
        query = select(cast(func.pg_current_snapshot(), Text).label("snapshot"), *batch.c).order_by(
            batch.c.global_position
        )
        async with self.engine.connect() as connection:
            rows = (await connection.execute(query)).all()
        if not rows:
            return Batch([], None)
        return Batch(
            [recorded_event_from_row(row) for row in rows], Snapshot.parse(rows[0].snapshot)
        )

    async def new_horizon(self) -> int:
        """A transaction id assigned now: above the id of every transaction begun before."""
        async with self.engine.connect() as connection:
            result = await connection.execute(select(cast(func.pg_current_xact_id(), Text)))
            horizon = int(result.scalar_one())
            await connection.rollback()
        return horizon

    async def checkpoint(self, topic: str) -> int:
        query = select(relay_checkpoints.c.position).where(relay_checkpoints.c.topic == topic)
        async with self.engine.connect() as connection:
            position = (await connection.execute(query)).scalar_one_or_none()
        return int(position or 0)

    async def save_checkpoint(self, topic: str, position: int) -> None:
        statement = pg_insert(relay_checkpoints).values(topic=topic, position=position)
        statement = statement.on_conflict_do_update(
            index_elements=[relay_checkpoints.c.topic],
            set_={"position": statement.excluded.position, "updated_at": func.now()},
        )
        async with self.engine.begin() as connection:
            # Losing this write in a database crash only means publishing some events again,
            # which consumers absorb; so it need not wait for the WAL flush.
            await connection.execute(text("SET LOCAL synchronous_commit = off"))
            await connection.execute(statement)

    async def head_position(self) -> int:
        async with self.engine.connect() as connection:
            result = await connection.execute(select(func.max(events.c.global_position)))
            return int(result.scalar_one() or 0)
