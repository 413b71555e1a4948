"""What a test session or a benchmark run made in the shared Kafka and PostgreSQL is dropped
when it ends: its schemas and topics, and nothing else."""

from __future__ import annotations

import uuid

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from crm_devstack.cleanup import drop_run_data
from crm_devstack.stack import Endpoints


def run_name() -> str:
    return f"t{uuid.uuid4().hex[:12]}"


async def topics_of(bootstrap: str) -> set[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


async def make(database_url: str, bootstrap: str, schemas: list[str], topics: list[str]) -> None:
    connection = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        for schema in schemas:
            await connection.execute(f'CREATE SCHEMA "{schema}"')
            await connection.execute(f'CREATE TABLE "{schema}".rows (id int PRIMARY KEY)')
    finally:
        await connection.close()
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(t, 1, 1) for t in topics])
    finally:
        await admin.close()


async def schemas_of(database_url: str) -> set[str]:
    connection = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        return {r["nspname"] for r in await connection.fetch("SELECT nspname FROM pg_namespace")}
    finally:
        await connection.close()


@pytest.mark.integration
async def test_a_runs_schemas_and_topics_are_dropped_and_no_others(stack: Endpoints) -> None:
    ended, other = run_name(), run_name()
    url, bootstrap = stack.database_url, stack.kafka_bootstrap_servers
    await make(
        url,
        bootstrap,
        [ended, f"{ended}_contacts", other],
        [f"crm.{ended}.events", f"{ended}.sales.events", f"crm.{other}.events"],
    )

    dropped = await drop_run_data(url, bootstrap, [ended])

    assert (dropped.schemas, dropped.topics) == (2, 2)
    schemas, topics = await schemas_of(url), await topics_of(bootstrap)
    assert {ended, f"{ended}_contacts"}.isdisjoint(schemas)
    assert other in schemas
    assert {f"crm.{ended}.events", f"{ended}.sales.events"}.isdisjoint(topics)
    assert f"crm.{other}.events" in topics
    await drop_run_data(url, bootstrap, [other])


@pytest.mark.parametrize("name", ["contacts", "crm", "t12345", "a%b0f1e2d", ""])
async def test_a_name_that_is_not_a_runs_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="not a run's unique name"):
        await drop_run_data("postgresql://unused", "unused:9092", [name])
