"""The services' database readiness check, against the real database and an absent one."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from crm_devstack.processes import free_port
from crm_shared.http import database_reachable

pytestmark = pytest.mark.integration


async def test_the_database_check_passes_while_the_database_answers(engine: AsyncEngine) -> None:
    await database_reachable(engine)()


async def test_the_database_check_raises_when_the_database_is_away() -> None:
    away = create_async_engine(f"postgresql+asyncpg://crm@127.0.0.1:{free_port()}/crm")
    try:
        with pytest.raises(OSError, match=r"[Cc]onnect"):
            await database_reachable(away)()
    finally:
        await away.dispose()
