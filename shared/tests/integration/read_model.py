"""A tiny read model for consumer tests: one row per application of an event.

It has no unique key on purpose: an event applied twice shows up as two rows.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crm_shared.events.envelope import EventEnvelope


class PoisonEvent(Exception):
    pass


async def create_table(engine: AsyncEngine, schema: str) -> None:
    async with engine.begin() as connection:
        await connection.execute(
            text(
                f"CREATE TABLE IF NOT EXISTS {schema}.applications "
                "(event_id text, customer text, version int, applied_at timestamptz default now())"
            )
        )


def applier(schema: str, slow_seconds: float = 0.0):  # type: ignore[no-untyped-def]
    """Writes a row per event; fails on events whose data says ``poison``; may be slow."""

    async def apply(connection: AsyncConnection, envelope: EventEnvelope) -> None:
        if envelope.data.get("poison"):
            raise PoisonEvent(f"cannot apply {envelope.id}")
        if envelope.data.get("slow"):
            await asyncio.sleep(slow_seconds)
        await connection.execute(
            text(f"INSERT INTO {schema}.applications VALUES (:id, :customer, :version)"),
            {
                "id": envelope.id,
                "customer": envelope.partitionkey,
                "version": envelope.streamversion,
            },
        )

    return apply


async def applications(engine: AsyncEngine, schema: str) -> list[tuple[str, str, int]]:
    async with engine.connect() as connection:
        rows = await connection.execute(
            text(
                f"SELECT event_id, customer, version FROM {schema}.applications ORDER BY applied_at"
            )
        )
        return [(r.event_id, r.customer, r.version) for r in rows]
