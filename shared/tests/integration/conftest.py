from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_shared.eventstore import EventStore, upgrade


@pytest.fixture
async def schema(database_url: str, unique_name: str) -> str:
    await upgrade(database_url, unique_name)
    return unique_name


@pytest.fixture
def store(engine: AsyncEngine, schema: str) -> EventStore:
    return EventStore(engine, schema)
