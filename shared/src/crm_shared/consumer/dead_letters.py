"""Dead letters: a message that keeps failing goes to ``<topic>.dlq`` with the error in headers.

The record is copied byte for byte (key, value, CloudEvents headers), so it can be inspected
and replayed onto the original topic once the cause is fixed.
"""

from __future__ import annotations

import traceback
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer

DLQ_SUFFIX = ".dlq"


def dlq_topic(topic: str) -> str:
    return f"{topic}{DLQ_SUFFIX}"


def dead_letter_headers(
    record: Any, group_id: str, error: BaseException, attempts: int
) -> list[tuple[str, bytes]]:
    """The original headers plus ``dlq_*`` headers saying where the record came from and why."""
    detail = "".join(traceback.format_exception_only(type(error), error)).strip()
    extra = {
        "dlq_error_type": f"{type(error).__module__}.{type(error).__qualname__}",
        "dlq_error_message": detail[:4000],
        "dlq_original_topic": record.topic,
        "dlq_original_partition": str(record.partition),
        "dlq_original_offset": str(record.offset),
        "dlq_consumer_group": group_id,
        "dlq_attempts": str(attempts),
        "dlq_failed_at": datetime.now(UTC).isoformat(),
    }
    original = [(k, v) for k, v in (record.headers or ()) if not k.startswith("dlq_")]
    return original + [(k, v.encode()) for k, v in extra.items()]


class DeadLetterPublisher:
    """An idempotent producer dedicated to dead letters, started on first use."""

    def __init__(self, bootstrap_servers: str, client_id: str) -> None:
        self._bootstrap_servers = bootstrap_servers
        self._client_id = client_id
        self._producer: AIOKafkaProducer | None = None

    async def publish(
        self, record: Any, group_id: str, error: BaseException, attempts: int
    ) -> None:
        producer = await self._ensure_started()
        await producer.send_and_wait(
            dlq_topic(record.topic),
            value=record.value,
            key=record.key,
            headers=dead_letter_headers(record, group_id, error, attempts),
        )

    async def _ensure_started(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = AIOKafkaProducer(
                bootstrap_servers=self._bootstrap_servers,
                enable_idempotence=True,
                acks="all",
                client_id=self._client_id,
            )
            await producer.start()
            self._producer = producer
        return self._producer

    async def close(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()
