"""Building blocks for the integration tests: events, metadata, topics, collecting records."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from crm_shared.eventstore import EventMetadata, NewEvent

METADATA = EventMetadata(tenant_id="tenant-1", actor="user-1", correlation_id="corr-1")


def contact_created(customer: str, **data: Any) -> NewEvent:
    return NewEvent(
        event_type="crm.contacts.contact.created",
        schema_version=1,
        data={"name": "Ada", **data},
        partition_key=customer,
        subject=customer,
    )


def renamed(customer: str, name: str) -> NewEvent:
    return NewEvent(
        event_type="crm.contacts.contact.renamed",
        schema_version=1,
        data={"name": name},
        partition_key=customer,
        subject=customer,
    )


def new_stream_id() -> str:
    return f"contact-{uuid.uuid4()}"


async def create_topics(bootstrap: str, *topics: str, partitions: int = 3) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(t, num_partitions=partitions, replication_factor=1) for t in topics]
        )
    finally:
        await admin.close()


async def read_topic(bootstrap: str, topic: str, expected: int, timeout: float = 60) -> list[Any]:
    """Every record of ``topic`` from the start, until ``expected`` arrived and 1 s of quiet."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    records: list[Any] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=1000)
            got = [r for rs in batch.values() for r in rs]
            records.extend(got)
            if len(records) >= expected and not got:
                break
            await asyncio.sleep(0)
    finally:
        await consumer.stop()
    return records
