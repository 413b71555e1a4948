from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_analytics.adapters.kafka_lag import group_lag
from crm_analytics.application.projector import projector
from crm_analytics.bootstrap import CONTROL_MIGRATIONS, build_app
from crm_analytics.config import AnalyticsSettings
from crm_shared.consumer import ConsumerConfig, IdempotentConsumer, consumer_broker
from crm_shared.contracts.contacts import REGISTRY as CONTACTS
from crm_shared.contracts.sales import REGISTRY as SALES
from crm_shared.contracts.support import REGISTRY as SUPPORT
from crm_shared.events import (
    EventContract,
    EventEnvelope,
    envelope_for_event,
    to_kafka_record,
)
from crm_shared.eventstore import upgrade
from crm_shared.settings import PlatformSettings

ADA = {"X-Tenant-Id": "tenant-a", "X-Actor-Id": "user-ada"}
BOB = {"X-Tenant-Id": "tenant-b", "X-Actor-Id": "user-bob"}
SOURCES = {"contacts": CONTACTS, "sales": SALES, "support": SUPPORT}
T0 = datetime(2026, 11, 2, 9, tzinfo=UTC)


@pytest.fixture
async def analytics_schema(database_url: str, unique_name: str) -> str:
    await upgrade(database_url, unique_name, CONTROL_MIGRATIONS)
    return unique_name


@pytest.fixture
async def api(
    engine: AsyncEngine, database_url: str, kafka_bootstrap: str, analytics_schema: str
) -> AsyncIterator[httpx.AsyncClient]:
    platform = PlatformSettings(
        DATABASE_URL=database_url,
        KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap,  # type: ignore[call-arg]
    )
    settings = AnalyticsSettings(db_schema=analytics_schema, run_consumer=False)
    app = build_app(platform, settings, engine)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://analytics"
    ) as client:
        yield client


class Events:
    """Envelopes as the services publish them, at times one minute apart."""

    def __init__(self, tenant: str = "tenant-a") -> None:
        self.tenant = tenant
        self.clock = T0

    def __call__(self, service: str, key: str, event: EventContract) -> EventEnvelope:
        self.clock += timedelta(minutes=1)
        return envelope_for_event(
            SOURCES[service],
            event,
            source=f"/crm/{service}",
            tenant_id=self.tenant,
            stream_id=key,
            actor="user-ada",
            time=self.clock,
        )


class Topics:
    """Three topics of the test's own, standing for crm.contacts/sales/support.events."""

    def __init__(self, bootstrap: str, prefix: str) -> None:
        self.bootstrap = bootstrap
        self.names = {service: f"{prefix}.{service}" for service in SOURCES}

    async def create(self) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        try:
            await admin.create_topics([NewTopic(n, 3, 1) for n in self.names.values()])
        finally:
            await admin.close()

    async def publish(self, envelopes: Iterable[EventEnvelope]) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, enable_idempotence=True)
        await producer.start()
        try:
            for envelope in envelopes:
                record = to_kafka_record(envelope)
                service = envelope.source.removeprefix("/crm/")
                await producer.send_and_wait(
                    self.names[service], record.value, key=record.key, headers=record.headers
                )
        finally:
            await producer.stop()

    async def lag(self, group: str) -> int:
        return await group_lag(self.bootstrap, group, list(self.names.values()))


@pytest.fixture
async def topics(kafka_bootstrap: str, unique_name: str) -> Topics:
    made = Topics(kafka_bootstrap, unique_name)
    await made.create()
    return made


async def applied_count(engine: AsyncEngine, schema: str, group: str) -> int:
    async with engine.connect() as connection:
        found = await connection.scalar(
            text(f'SELECT count(*) FROM "{schema}".processed_events WHERE consumer = :group'),
            {"group": group},
        )
    return int(found or 0)


async def consume(
    engine: AsyncEngine, schema: str, topics: Topics, group: str, expected: int
) -> None:
    """Run the analytics consumer (as the service does) until ``expected`` distinct events
    are applied."""
    consumer = IdempotentConsumer(
        engine,
        ConsumerConfig(group, list(topics.names.values()), schema, topics.bootstrap),
        projector(schema),
    )
    broker = consumer_broker(topics.bootstrap, [consumer], graceful_timeout=10)
    await broker.start()
    try:
        deadline = asyncio.get_running_loop().time() + 60
        while await applied_count(engine, schema, group) < expected or await topics.lag(group) > 0:
            assert asyncio.get_running_loop().time() < deadline, "events not applied in time"
            await asyncio.sleep(0.1)
    finally:
        await broker.stop()
        await consumer.close()
