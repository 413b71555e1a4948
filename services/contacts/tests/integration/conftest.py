from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_contacts.bootstrap import MIGRATIONS, build_app
from crm_contacts.config import ContactsSettings
from crm_shared.eventstore import upgrade
from crm_shared.settings import PlatformSettings

ADA = {"X-Tenant-Id": "tenant-a", "X-Actor-Id": "user-ada"}
BOB = {"X-Tenant-Id": "tenant-b", "X-Actor-Id": "user-bob"}


@pytest.fixture
async def contacts_schema(database_url: str, unique_name: str) -> str:
    await upgrade(database_url, unique_name, MIGRATIONS)
    return unique_name


@pytest.fixture
def key_encryption_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


@pytest.fixture
def replicas(
    engine: AsyncEngine,
    contacts_schema: str,
    database_url: str,
    kafka_bootstrap: str,
    key_encryption_key: str,
) -> Callable[[], AbstractAsyncContextManager[httpx.AsyncClient]]:
    """A replica of the service on the test's schema, a new one at each call."""
    platform = PlatformSettings(
        DATABASE_URL=database_url,
        KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap,  # type: ignore[call-arg]
    )
    settings = ContactsSettings(
        db_schema=contacts_schema,
        run_relay=False,
        key_encryption_key=SecretStr(key_encryption_key),
    )

    @asynccontextmanager
    async def replica() -> AsyncIterator[httpx.AsyncClient]:
        app = build_app(platform, settings, engine)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://contacts"
        ) as client:
            yield client

    return replica


@pytest.fixture
async def api(
    replicas: Callable[[], AbstractAsyncContextManager[httpx.AsyncClient]],
) -> AsyncIterator[httpx.AsyncClient]:
    async with replicas() as client:
        yield client


@pytest.fixture
async def other_replica(
    replicas: Callable[[], AbstractAsyncContextManager[httpx.AsyncClient]],
) -> AsyncIterator[httpx.AsyncClient]:
    """A second replica beside ``api``, on the same schema."""
    async with replicas() as client:
        yield client
