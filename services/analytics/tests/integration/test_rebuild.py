"""Rebuilding the read models from offset zero beside the live ones: progress shown, the
result equal to the live one, the swap, and the replicas feeding the new generation from where
the rebuild stopped (no event lost across the swap)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_analytics.adapters import generations
from crm_analytics.application.customer_view import CustomerViews
from crm_analytics.application.generations import (
    LiveGeneration,
    Progress,
    feed_live_generation,
    rebuild,
)
from crm_analytics.bootstrap import MIGRATIONS
from crm_shared.contracts import contacts as c

from .conftest import Events, Topics, applied_count, consume
from .test_customer_360 import GRACE, story

pytestmark = pytest.mark.integration

TABLES = {
    "entities": "tenant_id, kind, entity_id",
    "timeline": "tenant_id, customer_id, event_id",
    "consents": "tenant_id, contact_id, channel",
    "memberships": "tenant_id, account_id, contact_id",
    "merges": "tenant_id, merged_id",
}


async def contents(engine: AsyncEngine, schema: str) -> dict[str, list[Any]]:
    async with engine.connect() as connection:
        return {
            table: [
                tuple(row)
                for row in await connection.execute(
                    text(f'SELECT * FROM "{schema}".{table} ORDER BY {order}')
                )
            ]
            for table, order in TABLES.items()
        }


async def test_a_rebuild_equals_the_live_models_and_takes_over(
    engine: AsyncEngine, database_url: str, analytics_schema: str, topics: Topics
) -> None:
    events = Events()
    everything = [e for stream in story(events) for e in stream]
    await topics.publish(everything)
    first_group = f"{analytics_schema}-live"
    async with engine.begin() as connection:
        first = await generations.ensure_first(connection, analytics_schema, first_group)
    await consume(engine, analytics_schema, topics, first_group, len(everything))
    live = LiveGeneration(first.schema)
    views = CustomerViews(engine, live)
    before = await views.view("tenant-a", GRACE, 50)

    seen: list[Progress] = []
    made = await rebuild(
        engine,
        database_url,
        topics.bootstrap,
        analytics_schema,
        f"{analytics_schema}-rebuild",
        list(topics.names.values()),
        MIGRATIONS,
        report=seen.append,
        every_s=0.3,
    )

    assert seen[-1].lag == 0
    assert seen[-1].applied == len(everything)
    assert all(p.events_per_s >= 0 for p in seen)
    assert await contents(engine, made.schema) == await contents(engine, analytics_schema)
    async with engine.connect() as connection:
        states = {
            g["generation"]: g["state"]
            for g in await generations.listed(connection, analytics_schema)
        }
    assert states == {1: "retired", 2: "live"}

    stop = asyncio.Event()
    reader = LiveGeneration(first.schema)  # a replica that only serves, not consuming
    following = asyncio.create_task(reader.follow(engine, analytics_schema, stop, 0.1))
    feeding = asyncio.create_task(
        feed_live_generation(
            engine,
            topics.bootstrap,
            analytics_schema,
            list(topics.names.values()),
            CollectorRegistry(),
            stop,
            0.1,
            live,
        )
    )
    try:
        later = events(
            "contacts",
            GRACE,
            c.ContactUpdated(
                contact_id=GRACE,
                changes={"lifecycle_stage": c.FieldChange(old="opportunity", new="customer")},
            ),
        )
        await topics.publish([later])
        for _ in range(300):
            if await applied_count(engine, made.schema, made.consumer_group) == len(everything) + 1:
                break
            await asyncio.sleep(0.1)
        assert live.schema == made.schema
        assert reader.schema == made.schema
        after = await views.view("tenant-a", GRACE, 50)
    finally:
        stop.set()
        await asyncio.gather(following, feeding)
    assert after["profile"]["lifecycle_stage"] == "customer"
    assert after["timeline"]["items"][1:] == before["timeline"]["items"]
