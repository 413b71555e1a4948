"""Timed background work: one replica at a time, and a failing tick does not stop the next."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from crm_shared.periodic import every, exclusive_turn

pytestmark = pytest.mark.integration

LOCK = 0x7E57_0001


async def test_only_one_replica_has_the_turn_until_it_ends(
    engine: AsyncEngine, database_url: str
) -> None:
    other_replica = create_async_engine(database_url)
    try:
        async with exclusive_turn(engine, LOCK) as mine:
            assert mine is not None
            async with exclusive_turn(other_replica, LOCK) as theirs:
                assert theirs is None
        async with exclusive_turn(other_replica, LOCK) as theirs:
            assert theirs is not None
    finally:
        await other_replica.dispose()


async def test_a_failing_tick_is_logged_and_the_next_one_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stop = asyncio.Event()
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        ticks += 1
        if ticks == 1:
            raise ConnectionError("database away")
        stop.set()

    await asyncio.wait_for(every(0.01, stop, tick, "the test tick"), 5)

    assert ticks == 2
    assert "the test tick failed" in caplog.text
