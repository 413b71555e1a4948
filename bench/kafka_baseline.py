"""(a) The baseline: raw aiokafka produce-and-consume throughput of 1 KiB messages.

Producer settings match the relay's (idempotent, acks=all, 5 ms linger), so the ratio to the
end-to-end figure shows what the platform costs on top of Kafka itself.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic


async def produce_and_consume(bootstrap: str, messages: int, size: int = 1024) -> dict[str, float]:
    topic = f"bench.raw.{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    await admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    await admin.close()

    payload = os.urandom(size)
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"bench-{topic}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_poll_records=1000,
    )
    await consumer.start()
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        enable_idempotence=True,
        acks="all",
        linger_ms=5,
        max_batch_size=256 * 1024,
    )
    await producer.start()

    received = 0

    async def consume() -> None:
        nonlocal received
        while received < messages:
            batch = await consumer.getmany(timeout_ms=500)
            received += sum(len(records) for records in batch.values())
            if batch:
                await consumer.commit()

    started = time.perf_counter()
    consuming = asyncio.create_task(consume())
    for index in range(messages):
        await producer.send(topic, payload, key=str(index % 1000).encode())
    await producer.flush()
    produced_at = time.perf_counter()
    await asyncio.wait_for(consuming, timeout=300)
    finished = time.perf_counter()
    await producer.stop()
    await consumer.stop()
    return {
        "messages": messages,
        "message_bytes": size,
        "produce_msgs_per_s": messages / (produced_at - started),
        "produce_consume_msgs_per_s": messages / (finished - started),
    }
