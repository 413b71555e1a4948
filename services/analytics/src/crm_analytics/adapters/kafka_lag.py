"""How far a consumer group is behind the end of its topics, asked of the broker."""

from __future__ import annotations

from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient


async def group_lag(bootstrap: str, group: str, topics: Sequence[str]) -> int:
    """Records on ``topics`` the group has not committed yet (0: it has read everything)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    reader = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await admin.start()
    await reader.start()
    try:
        described = await admin.describe_topics(list(topics))
        partitions = [
            TopicPartition(topic["topic"], partition["partition"])
            for topic in described
            for partition in topic["partitions"]
        ]
        committed = await admin.list_consumer_group_offsets(group)
        ends = await reader.end_offsets(partitions)
    finally:
        await reader.stop()
        await admin.close()
    return sum(
        end - (committed[p].offset if p in committed and committed[p].offset >= 0 else 0)
        for p, end in ends.items()
    )
