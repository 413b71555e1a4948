"""Test subscribers to a topic: from its end (what a test does next) or its start (a replay)."""

from __future__ import annotations

import time
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError


async def subscribe_from_now(bootstrap: str, topic: str) -> AIOKafkaConsumer:
    consumer, partitions = await _assigned(bootstrap, topic)
    await consumer.seek_to_end(*partitions)
    for partition in partitions:
        await consumer.position(partition)  # resolves "the end" now, before the test writes
    return consumer


async def subscribe_from_start(bootstrap: str, topic: str) -> AIOKafkaConsumer:
    """A subscriber that re-reads the topic from its first record (as a replay would)."""
    consumer, partitions = await _assigned(bootstrap, topic)
    await consumer.seek_to_beginning(*partitions)
    return consumer


async def _assigned(bootstrap: str, topic: str) -> tuple[AIOKafkaConsumer, list[TopicPartition]]:
    await _ensure_topic(bootstrap, topic)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    partitions = [TopicPartition(topic, p) for p in sorted(await _partitions(consumer, topic))]
    consumer.assign(partitions)
    return consumer, partitions


async def _ensure_topic(bootstrap: str, topic: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    except TopicAlreadyExistsError:
        pass
    finally:
        await admin.close()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        await consumer.topics()
        found = consumer.partitions_for_topic(topic)
        if found:
            return set(found)
        await consumer._client.force_metadata_update()
    raise AssertionError(f"topic {topic} has no partitions")


async def records_keyed(
    consumer: AIOKafkaConsumer, key: bytes, expected: int, within_seconds: float = 60
) -> list[Any]:
    found: list[Any] = []
    deadline = time.monotonic() + within_seconds
    while len(found) < expected and time.monotonic() < deadline:
        for records in (await consumer.getmany(timeout_ms=500)).values():
            found += [r for r in records if r.key == key]
    return found
