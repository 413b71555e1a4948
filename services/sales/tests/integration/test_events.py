"""What sales publishes on crm.sales.events, and what it does with crm.contacts.events."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_devstack.subscriber import records_keyed, subscribe_from_now, subscribe_from_start
from crm_sales.application.activities import ActivityHandlers
from crm_sales.application.handlers import SalesHandlers
from crm_sales.bootstrap import CONTACTS_TOPIC, TOPIC
from crm_sales.entrypoints.contact_events import apply_contact_event
from crm_shared.consumer import ConsumerConfig, IdempotentConsumer
from crm_shared.contracts.contacts import REGISTRY as CONTACTS
from crm_shared.contracts.contacts import ContactMerged
from crm_shared.contracts.sales import REGISTRY, OpportunityStageChanged
from crm_shared.events import (
    EventEnvelope,
    envelope_for_event,
    from_kafka_record,
    to_kafka_record,
)
from crm_shared.eventstore import EventStore
from crm_shared.privacy import KeyEncryptionKey
from crm_shared.privacy.keystore import SubjectKeyStore
from crm_shared.relay import OutboxRelay, RelayConfig

from .conftest import ADA
from .test_opportunities_api import move, opened

pytestmark = pytest.mark.integration


async def test_a_subscriber_receives_each_change_keyed_by_opportunity(
    api: httpx.AsyncClient, engine: AsyncEngine, sales_schema: str, kafka_bootstrap: str
) -> None:
    subscriber = await subscribe_from_now(kafka_bootstrap, TOPIC)
    try:
        deal = await opened(api)
        await move(api, deal, "negotiate", 1)
        relay = OutboxRelay(engine, RelayConfig(sales_schema, TOPIC, "/crm/sales", kafka_bootstrap))
        try:
            while await relay.publish_next_batch():
                pass
        finally:
            await relay.close()
        received = await records_keyed(subscriber, deal["id"].encode(), expected=2)
    finally:
        await subscriber.stop()
    envelopes = [from_kafka_record(r.key, r.value, r.headers) for r in received]
    assert [e.type for e in envelopes] == [
        "crm.sales.opportunity.opened",
        "crm.sales.opportunity.stage_changed",
    ]
    moved = REGISTRY.decode(envelopes[1])
    assert isinstance(moved, OpportunityStageChanged)
    assert (moved.from_stage_id, moved.to_stage_id, moved.probability) == (
        "qualify",
        "negotiate",
        80,
    )


def merge_event(tenant: str, survivor: str, merged: str) -> EventEnvelope:
    event = ContactMerged(contact_id=survivor, merged_contact_id=merged, changes={}, winners={})
    return envelope_for_event(
        CONTACTS,
        event,
        source="/crm/contacts",
        tenant_id=tenant,
        stream_id=survivor,
        actor="user-ada",
        stream_version=3,
    )


async def consumed(
    engine: AsyncEngine,
    schema: str,
    bootstrap: str,
    kek: str,
    envelopes: list[EventEnvelope],
) -> None:
    """Deliver the envelopes through Kafka to the sales consumer, as the service would."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for envelope in envelopes:
            record = to_kafka_record(envelope)
            await producer.send_and_wait(
                CONTACTS_TOPIC, record.value, key=record.key, headers=record.headers
            )
    finally:
        await producer.stop()
    store = EventStore(engine, schema)
    keys = SubjectKeyStore(schema, KeyEncryptionKey.from_base64(kek))
    consumer = IdempotentConsumer(
        engine,
        ConsumerConfig("unused", [CONTACTS_TOPIC], schema, bootstrap),
        apply_contact_event(store, SalesHandlers(store), ActivityHandlers(store, keys)),
    )
    try:
        records: list[Any] = []
        replay = await subscribe_from_start(bootstrap, CONTACTS_TOPIC)
        try:
            for envelope in envelopes:
                records += await records_keyed(replay, envelope.partitionkey.encode(), expected=1)
        finally:
            await replay.stop()
        await consumer.handle_records(records)
        await consumer.handle_records(records)  # redelivered: applied once
    finally:
        await consumer.close()


async def test_a_contact_merge_re_points_the_merged_contacts_opportunities(
    api: httpx.AsyncClient,
    engine: AsyncEngine,
    sales_schema: str,
    kafka_bootstrap: str,
    key_encryption_key: str,
) -> None:
    merged, survivor = f"c-{uuid.uuid4()}", f"c-{uuid.uuid4()}"
    open_deal = await opened(api, contact_id=merged)
    closed_deal = await opened(api, contact_id=merged)
    await api.post(
        f"/opportunities/{closed_deal['id']}/won", json={}, headers={**ADA, "If-Match": '"1"'}
    )
    other = await opened(api, contact_id="c-someone-else")

    await consumed(
        engine,
        sales_schema,
        kafka_bootstrap,
        key_encryption_key,
        [merge_event("tenant-a", survivor, merged)],
    )

    for deal, expected in (
        (open_deal, survivor),
        (closed_deal, survivor),
        (other, "c-someone-else"),
    ):
        body = (await api.get(f"/opportunities/{deal['id']}", headers=ADA)).json()
        assert body["contact_id"] == expected
    repointed = (await api.get(f"/opportunities/{open_deal['id']}", headers=ADA)).json()
    assert repointed["version"] == 2  # once, though the event was delivered twice
