from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_shared.eventstore import EventStore, upgrade
from crm_shared.privacy import KeyEncryptionKey
from crm_shared.privacy.keystore import SubjectKeyStore
from crm_shared.settings import PlatformSettings
from crm_support.application.cases import CaseHandlers, Clock
from crm_support.bootstrap import MIGRATIONS, build_app
from crm_support.config import SupportSettings

ADA = {"X-Tenant-Id": "tenant-a", "X-Actor-Id": "user-ada"}
BOB = {"X-Tenant-Id": "tenant-b", "X-Actor-Id": "user-bob"}
WEBHOOK_KEY = "key-of-the-mail-provider"


def new_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


@pytest.fixture
async def support_schema(database_url: str, unique_name: str) -> str:
    await upgrade(database_url, unique_name, MIGRATIONS)
    return unique_name


@pytest.fixture
def key_encryption_key() -> str:
    return new_key()


@pytest.fixture
def settings(support_schema: str, key_encryption_key: str) -> SupportSettings:
    return SupportSettings(
        db_schema=support_schema,
        run_relay=False,
        run_consumer=False,
        run_timers=False,
        key_encryption_key=SecretStr(key_encryption_key),
        survey_signing_key=SecretStr(new_key()),
        inbound_webhook_signing_key=SecretStr(WEBHOOK_KEY),
        public_url="https://support.example",
    )


@pytest.fixture
async def api(
    engine: AsyncEngine, database_url: str, kafka_bootstrap: str, settings: SupportSettings
) -> AsyncIterator[httpx.AsyncClient]:
    platform = PlatformSettings(
        DATABASE_URL=database_url,
        KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap,  # type: ignore[call-arg]
    )
    app = build_app(platform, settings, engine)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://support"
    ) as client:
        yield client


def handlers(
    engine: AsyncEngine, schema: str, kek: str, clock: Clock, reopen_days: int = 7
) -> CaseHandlers:
    """The case handlers as a (re)started process builds them, on a clock the test moves."""
    store = EventStore(engine, schema)
    keys = SubjectKeyStore(schema, KeyEncryptionKey.from_base64(kek))
    return CaseHandlers(store, keys, timedelta(days=reopen_days), clock)
