"""What support publishes on crm.support.events, and what it does with crm.contacts.events."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_devstack.subscriber import records_keyed, subscribe_from_now, subscribe_from_start
from crm_shared.consumer import ConsumerConfig, IdempotentConsumer
from crm_shared.contracts.contacts import REGISTRY as CONTACTS
from crm_shared.contracts.contacts import ContactErased, ContactMerged
from crm_shared.contracts.support import REGISTRY, CaseOpened
from crm_shared.events import (
    EventContract,
    EventEnvelope,
    envelope_for_event,
    from_kafka_record,
    to_kafka_record,
)
from crm_shared.eventstore import EventStore
from crm_shared.relay import OutboxRelay, RelayConfig
from crm_support.bootstrap import CONTACTS_TOPIC, TOPIC
from crm_support.entrypoints.contact_events import apply_contact_event

from .conftest import ADA, handlers

pytestmark = pytest.mark.integration


async def test_a_subscriber_receives_the_case_with_its_words_sealed(
    api: httpx.AsyncClient, engine: AsyncEngine, support_schema: str, kafka_bootstrap: str
) -> None:
    subscriber = await subscribe_from_now(kafka_bootstrap, TOPIC)
    try:
        opened = await api.post(
            "/cases",
            json={"subject": "Password of Grace Hopper", "requester_email": "g@navy.example"},
            headers=ADA,
        )
        case = opened.json()
        relay = OutboxRelay(
            engine, RelayConfig(support_schema, TOPIC, "/crm/support", kafka_bootstrap)
        )
        try:
            while await relay.publish_next_batch():
                pass
        finally:
            await relay.close()
        [record] = await records_keyed(subscriber, case["id"].encode(), expected=1)
    finally:
        await subscriber.stop()
    assert b"Grace" not in record.value
    envelope = from_kafka_record(record.key, record.value, record.headers)
    event = REGISTRY.decode(envelope)
    assert isinstance(event, CaseOpened)
    assert event.number == case["number"]


def envelope(tenant: str, stream: str, event: EventContract) -> EventEnvelope:
    return envelope_for_event(
        CONTACTS,
        event,
        source="/crm/contacts",
        tenant_id=tenant,
        stream_id=stream,
        actor="user-ada",
        stream_version=3,
    )


async def consumed(
    engine: AsyncEngine, schema: str, bootstrap: str, kek: str, envelopes: list[EventEnvelope]
) -> None:
    """Deliver the envelopes through Kafka to the support consumer, twice."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for e in envelopes:
            record = to_kafka_record(e)
            await producer.send_and_wait(
                CONTACTS_TOPIC, record.value, key=record.key, headers=record.headers
            )
    finally:
        await producer.stop()
    cases = handlers(engine, schema, kek, lambda: datetime.now(UTC))
    consumer = IdempotentConsumer(
        engine,
        ConsumerConfig("unused", [CONTACTS_TOPIC], schema, bootstrap),
        apply_contact_event(EventStore(engine, schema), cases),
    )
    try:
        records: list[Any] = []
        for e in envelopes:  # a subscription per key: reading one key skips the others
            replay = await subscribe_from_start(bootstrap, CONTACTS_TOPIC)
            try:
                records += await records_keyed(replay, e.partitionkey.encode(), expected=1)
            finally:
                await replay.stop()
        await consumer.handle_records(records)
        await consumer.handle_records(records)  # redelivered: applied once
    finally:
        await consumer.close()


async def test_merges_re_point_cases_and_erasures_erase_their_words(
    api: httpx.AsyncClient,
    engine: AsyncEngine,
    support_schema: str,
    kafka_bootstrap: str,
    key_encryption_key: str,
) -> None:
    merged, survivor, erased = (f"c-{uuid.uuid4()}" for _ in range(3))
    about_merged = (
        await api.post("/cases", json={"subject": "A", "contact_id": merged}, headers=ADA)
    ).json()
    about_erased = (
        await api.post(
            "/cases",
            json={"subject": "My address is 1 Main St", "contact_id": erased},
            headers=ADA,
        )
    ).json()
    await api.post(
        f"/cases/{about_erased['id']}/messages", json={"body": "call me on 555"}, headers=ADA
    )

    await consumed(
        engine,
        support_schema,
        kafka_bootstrap,
        key_encryption_key,
        [
            envelope(
                "tenant-a",
                survivor,
                ContactMerged(
                    contact_id=survivor, merged_contact_id=merged, changes={}, winners={}
                ),
            ),
            envelope(
                "tenant-a", erased, ContactErased(contact_id=erased, erased_contact_ids=[erased])
            ),
        ],
    )

    repointed = (await api.get(f"/cases/{about_merged['id']}", headers=ADA)).json()
    assert repointed["contact_id"] == survivor
    assert repointed["version"] == about_merged["version"] + 1  # once, though delivered twice
    forgotten = (await api.get(f"/cases/{about_erased['id']}", headers=ADA)).json()
    assert forgotten["erased"] is True
    assert forgotten["subject"] is None
    thread = (await api.get(f"/cases/{about_erased['id']}/messages", headers=ADA)).json()
    assert [m["body"] for m in thread] == [None]
    history = (await api.get(f"/cases/{about_erased['id']}/history", headers=ADA)).json()
    assert history[-1]["type"] == "crm.support.case.erased"
