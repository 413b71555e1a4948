"""A pooled driver connection: each statement is a transaction of its own, the connection goes
back to the pool after the block, and one the server dropped or a cancellation left in doubt
is never handed to the next caller."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_shared.database import database_engine
from crm_shared.settings import PlatformSettings
from crm_shared.sql import pooled_driver, pooled_reads

pytestmark = pytest.mark.integration

DRIVER_ERRORS = (asyncpg.InterfaceError, asyncpg.InternalClientError, asyncpg.PostgresError)


@pytest.fixture
async def pooled(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine whose pool holds one connection, waited for at most 0.3 s."""
    engine = database_engine(PlatformSettings(database_url=database_url, db_pool_timeout_s=0.3), 1)
    yield engine
    await engine.dispose()


async def backend_of(engine: AsyncEngine) -> int:
    async with pooled_reads(engine) as reads:
        [row] = await reads.fetch("SELECT pg_backend_pid() AS pid", {})
    return int(row["pid"])


async def test_each_statement_commits_on_its_own_and_the_connection_is_reused(
    pooled: AsyncEngine, engine: AsyncEngine, schema: str
) -> None:
    async with engine.begin() as connection:
        await connection.execute(text(f'CREATE TABLE "{schema}".notes (id int)'))
    async with pooled_driver(pooled) as driver:
        await driver.execute(f'INSERT INTO "{schema}".notes VALUES (1)')
        async with engine.connect() as other:  # seen by another connection at once
            seen = await other.scalar(text(f'SELECT count(*) FROM "{schema}".notes'))
        assert seen == 1
    assert pooled.pool.checkedout() == 0  # type: ignore[attr-defined]
    assert await backend_of(pooled) == await backend_of(pooled)


async def test_a_connection_the_server_dropped_is_not_handed_out_again(
    pooled: AsyncEngine, engine: AsyncEngine
) -> None:
    dropped = await backend_of(pooled)
    async with engine.connect() as admin:
        await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": dropped})
    with pytest.raises(DRIVER_ERRORS):  # which one depends on when the driver notices
        await backend_of(pooled)
    replacement = await backend_of(pooled)  # the pool's only connection: a new one
    assert replacement != dropped


async def test_a_statement_cancelled_midway_leaves_no_connection_in_doubt(
    pooled: AsyncEngine, engine: AsyncEngine
) -> None:
    busy = await backend_of(pooled)

    async def sleep_long() -> None:
        async with pooled_driver(pooled) as driver:
            await driver.execute("SELECT pg_sleep(30)")

    sleeping = asyncio.create_task(sleep_long())
    await asyncio.sleep(0.3)
    sleeping.cancel()
    with pytest.raises(asyncio.CancelledError):
        await sleeping
    assert await backend_of(pooled) != busy
    async with engine.connect() as admin:  # and nothing of it still runs on the server
        left = await admin.scalar(
            text("SELECT count(*) FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(30)'")
        )
    assert left == 0


async def test_a_caller_that_finds_the_pool_busy_too_long_gets_the_pools_timeout(
    pooled: AsyncEngine,
) -> None:
    async with pooled_driver(pooled):
        with pytest.raises(PoolTimeout):  # answered 503, as for SQLAlchemy's connections
            await backend_of(pooled)
    assert await backend_of(pooled) > 0  # and the connection went back when the block ended
