"""A process's PostgreSQL connections: a fixed pool that is reused, never churned, the last
returned taken first, and a request that finds it busy for too long gets a 503 that says
so."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from sqlalchemy import event, text
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_shared.database import database_engine
from crm_shared.http import create_service_app
from crm_shared.settings import PlatformSettings

pytestmark = pytest.mark.integration


def engine_with(database_url: str, pool_size: int, timeout_s: float = 30) -> AsyncEngine:
    platform = PlatformSettings(database_url=database_url, db_pool_timeout_s=timeout_s)
    return database_engine(platform, pool_size)


def connections_opened(engine: AsyncEngine) -> list[object]:
    opened: list[object] = []
    event.listen(engine.sync_engine, "connect", lambda connection, _: opened.append(connection))
    return opened


async def test_more_concurrent_work_than_the_pool_reuses_its_connections(
    database_url: str,
) -> None:
    engine = engine_with(database_url, pool_size=3)
    opened = connections_opened(engine)

    async def query() -> None:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT pg_sleep(0.01)"))

    try:
        for _ in range(5):
            await asyncio.gather(*(query() for _ in range(12)))
    finally:
        await engine.dispose()
    assert len(opened) == 3


async def test_light_work_runs_on_the_connection_used_last_not_on_each_in_turn(
    database_url: str,
) -> None:
    engine = engine_with(database_url, pool_size=4)

    async def backend() -> int:
        async with engine.connect() as connection:
            pid: int = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            await asyncio.sleep(0.01)  # held while others are checked out
            return pid

    try:
        opened_by_a_burst = set(await asyncio.gather(*(backend() for _ in range(4))))
        one_at_a_time = {await backend() for _ in range(8)}
    finally:
        await engine.dispose()
    assert len(opened_by_a_burst) == 4
    assert len(one_at_a_time) == 1


async def test_work_that_waits_longer_than_the_timeout_for_a_connection_fails(
    database_url: str,
) -> None:
    engine = engine_with(database_url, pool_size=1, timeout_s=0.2)
    try:
        async with engine.connect():
            with pytest.raises(PoolTimeout):
                async with engine.connect():
                    pass
    finally:
        await engine.dispose()


async def test_a_request_that_gets_no_connection_in_time_is_answered_503(
    database_url: str,
) -> None:
    engine = engine_with(database_url, pool_size=1, timeout_s=0.2)
    app: FastAPI = create_service_app("Test service", "1", CollectorRegistry())

    @app.get("/count")
    async def count() -> int:
        async with engine.connect() as connection:
            return int(await connection.scalar(text("SELECT 1")) or 0)

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    try:
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://test") as http,
            engine.connect(),  # the pool's one connection, held
        ):
            response = await http.get("/count")
    finally:
        await engine.dispose()
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "1"
    assert response.json()["error"] == "database_busy"
    assert "CRM_DB_POOL_TIMEOUT_S" in response.json()["detail"]
