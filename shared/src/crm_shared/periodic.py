"""Background work that runs on a timer in every replica, one replica at a time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def exclusive_turn(
    engine: AsyncEngine, lock_key: int
) -> AsyncIterator[AsyncConnection | None]:
    """A connection holding PostgreSQL's advisory lock ``lock_key``, or None when another
    replica holds it now. The lock goes with the block (or with the session, if it dies)."""
    async with engine.connect() as connection:
        locked = await connection.scalar(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": lock_key}
        )
        await connection.commit()
        if not locked:
            yield None
            return
        try:
            yield connection
        finally:
            await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": lock_key})
            await connection.commit()


async def every(
    interval_s: float, stop: asyncio.Event, tick: Callable[[], Awaitable[Any]], what: str
) -> None:
    """Run ``tick`` every ``interval_s`` until ``stop``; a failed tick (the database away, say)
    is logged and the next one tries again."""
    while not stop.is_set():
        try:
            await tick()
        except Exception:
            log.exception("%s failed; trying again in %s s", what, interval_s)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), interval_s)
