"""The generations table: which schema of read models serves, which is being rebuilt."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from crm_shared.errors import InvalidValue
from crm_shared.sql import sql


@dataclass(frozen=True)
class Generation:
    generation: int
    schema: str
    consumer_group: str
    state: str


COLUMNS = "generation, schema_name, consumer_group, state"


def _generation(row: Any) -> Generation:
    return Generation(row.generation, row.schema_name, row.consumer_group, row.state)


async def ensure_first(
    connection: AsyncConnection, control: str, consumer_group: str
) -> Generation:
    """The live generation; the first one (the control schema itself) when there is none."""
    await connection.execute(
        sql(
            f'INSERT INTO "{control}".generations (generation, schema_name, consumer_group,'
            " state, live_since) SELECT 1, :schema, :group, 'live', now()"
            f' WHERE NOT EXISTS (SELECT 1 FROM "{control}".generations) ON CONFLICT DO NOTHING'
        ),
        {"schema": control, "group": consumer_group},
    )
    found = await live(connection, control)
    assert found is not None
    return found


async def live(connection: AsyncConnection, control: str) -> Generation | None:
    row = (
        await connection.execute(
            sql(f"SELECT {COLUMNS} FROM \"{control}\".generations WHERE state = 'live'")
        )
    ).one_or_none()
    return _generation(row) if row else None


async def start_building(connection: AsyncConnection, control: str, base_group: str) -> Generation:
    building = (
        await connection.execute(
            sql(f"SELECT {COLUMNS} FROM \"{control}\".generations WHERE state = 'building'")
        )
    ).one_or_none()
    if building is not None:
        raise InvalidValue("generation", f"generation {building.generation} is being built already")
    number = int(
        await connection.scalar(
            sql(f'SELECT coalesce(max(generation), 0) + 1 FROM "{control}".generations')
        )
    )
    made = Generation(number, f"{control}_g{number}", f"{base_group}.g{number}", "building")
    await connection.execute(
        sql(
            f'INSERT INTO "{control}".generations (generation, schema_name, consumer_group,'
            " state) VALUES (:generation, :schema, :group, 'building')"
        ),
        {"generation": made.generation, "schema": made.schema, "group": made.consumer_group},
    )
    return made


async def record_progress(
    connection: AsyncConnection,
    control: str,
    generation: int,
    applied: int,
    events_per_s: float,
    lag: int,
) -> None:
    await connection.execute(
        sql(
            f'UPDATE "{control}".generations SET applied = :applied, events_per_s = :rate,'
            " lag = :lag, progress_at = now() WHERE generation = :generation"
        ),
        {"generation": generation, "applied": applied, "rate": events_per_s, "lag": lag},
    )


async def swap(connection: AsyncConnection, control: str, generation: int) -> None:
    """The built generation serves from now on; the one before is retired (kept)."""
    await connection.execute(
        sql(f"UPDATE \"{control}\".generations SET state = 'retired' WHERE state = 'live'")
    )
    changed = await connection.execute(
        sql(
            f"UPDATE \"{control}\".generations SET state = 'live', live_since = now()"
            " WHERE generation = :generation AND state = 'building'"
        ),
        {"generation": generation},
    )
    if changed.rowcount != 1:
        raise InvalidValue("generation", f"generation {generation} is not being built")


async def listed(connection: AsyncConnection, control: str) -> list[dict[str, Any]]:
    result = await connection.execute(
        sql(
            f"SELECT {COLUMNS}, created_at, live_since, applied, events_per_s, lag, progress_at"
            f' FROM "{control}".generations ORDER BY generation'
        )
    )
    return [dict(row._mapping) for row in result]
