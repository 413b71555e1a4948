"""What a test session or a benchmark run leaves in the shared Kafka and PostgreSQL, dropped
when it ends: the schemas and topics whose names carry one of the run's unique names.

Every test that needs tables or topics gets names of its own (``t`` and 12 hex digits), and
every benchmark run too. Kept, they piled up run after run in the stack ``./crm up`` keeps:
6,276 schemas (88,917 tables, 11 GB) and 2,480 partitions on one developer's machine, and the
background work over them (autovacuum, the broker's checkpoints) took the CPU away from what
was being measured in bursts of half a second.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Collection
from dataclasses import dataclass

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient

RUN_NAME = re.compile(r"[a-z][a-z_]*[0-9a-f]{6,}")
"""What a run's unique name looks like: ending in at least six random hex digits, so that a
schema or topic carrying it belongs to that run (``contacts`` is refused)."""
TOPICS_PER_REQUEST = 100


@dataclass(frozen=True)
class Dropped:
    schemas: int
    topics: int


async def drop_run_data(
    database_url: str, bootstrap_servers: str, names: Collection[str]
) -> Dropped:
    """Drops every schema and deletes every topic whose name contains one of ``names``."""
    for name in names:
        if not RUN_NAME.fullmatch(name):
            raise ValueError(f"{name!r} is not a run's unique name")
    if not names:
        return Dropped(0, 0)
    schemas = await _drop_schemas(database_url, names)
    topics = await _delete_topics(bootstrap_servers, names)
    return Dropped(schemas, topics)


async def _drop_schemas(database_url: str, names: Collection[str]) -> int:
    connection = await asyncpg.connect(_driver_url(database_url))
    try:
        schemas = [
            row["nspname"]
            for row in await connection.fetch(
                "SELECT nspname FROM pg_namespace WHERE nspname LIKE ANY($1::text[])",
                [_containing(name) for name in names],
            )
        ]
        for schema in schemas:  # one at a time: a schema's tables each take a lock
            await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await connection.close()
    return len(schemas)


async def _delete_topics(bootstrap_servers: str, names: Collection[str]) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        topics = [
            topic
            for topic in await admin.list_topics()
            if not topic.startswith("__") and any(name in topic for name in names)
        ]
        for start in range(0, len(topics), TOPICS_PER_REQUEST):
            await admin.delete_topics(topics[start : start + TOPICS_PER_REQUEST])
    finally:
        await admin.close()
    return len(topics)


def drop_run_data_now(database_url: str, bootstrap_servers: str, names: Collection[str]) -> Dropped:
    """``drop_run_data`` from code that runs no event loop (a fixture's or a script's end)."""
    return asyncio.run(drop_run_data(database_url, bootstrap_servers, names))


def _containing(name: str) -> str:
    """A LIKE pattern for names containing ``name`` (whose ``_`` would match any character)."""
    return "%" + name.replace("_", r"\_") + "%"


def _driver_url(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)
