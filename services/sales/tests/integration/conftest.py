from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_sales.bootstrap import MIGRATIONS, build_app
from crm_sales.config import SalesSettings
from crm_shared.eventstore import upgrade
from crm_shared.settings import PlatformSettings

ADA = {"X-Tenant-Id": "tenant-a", "X-Actor-Id": "user-ada"}
BOB = {"X-Tenant-Id": "tenant-b", "X-Actor-Id": "user-bob"}

STAGES = [
    {"stage_id": "qualify", "name": "Qualify", "probability": 10},
    {"stage_id": "propose", "name": "Propose", "probability": 50, "forecast_category": "best_case"},
    {
        "stage_id": "negotiate",
        "name": "Negotiate",
        "probability": 80,
        "forecast_category": "commit",
    },
]


@pytest.fixture
async def sales_schema(database_url: str, unique_name: str) -> str:
    await upgrade(database_url, unique_name, MIGRATIONS)
    return unique_name


@pytest.fixture
def key_encryption_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


@pytest.fixture
async def api(
    engine: AsyncEngine,
    sales_schema: str,
    database_url: str,
    kafka_bootstrap: str,
    key_encryption_key: str,
) -> AsyncIterator[httpx.AsyncClient]:
    platform = PlatformSettings(
        DATABASE_URL=database_url,
        KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap,  # type: ignore[call-arg]
    )
    settings = SalesSettings(
        db_schema=sales_schema,
        run_relay=False,
        run_consumer=False,
        key_encryption_key=SecretStr(key_encryption_key),
        run_scheduler=False,
    )
    app = build_app(platform, settings, engine)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sales"
    ) as client:
        response = await client.put(
            "/pipelines/new", json={"name": "New", "stages": STAGES}, headers=ADA
        )
        assert response.status_code == 200, response.text
        yield client
