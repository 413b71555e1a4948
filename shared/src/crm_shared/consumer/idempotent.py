"""Idempotent event consumers on FastStream.

Each batch the broker hands over is applied in one database transaction together with the ids
of the events it applied, and the Kafka offsets are committed only after that transaction: a
crash before the commit redelivers events that are then recognised and skipped. Redelivery,
re-publish by the relay and replay therefore change nothing.

When the batch fails, its events are applied one by one, each retried a bounded number of
times; one that still fails goes to ``<topic>.dlq`` and the consumer moves on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import TopicPartition
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.kafka.annotations import KafkaMessage as KafkaMessageContext
from faststream.middlewares import AckPolicy
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from crm_shared.consumer.dead_letters import DeadLetterPublisher
from crm_shared.events.envelope import EventEnvelope
from crm_shared.events.kafka_binding import from_kafka_record
from crm_shared.eventstore.migrate import validate_schema_name
from crm_shared.eventstore.schema import processed_events, schema_map
from crm_shared.telemetry.kafka_spans import start_batch_process_span, start_process_span
from crm_shared.telemetry.pipeline_metrics import ConsumerMetrics

log = logging.getLogger(__name__)

ApplyEvent = Callable[[AsyncConnection, EventEnvelope], Awaitable[None]]
"""Applies one event to the read model, inside the transaction it is given; no commit."""

ApplyBatch = Callable[[AsyncConnection, Sequence[EventEnvelope]], Awaitable[None]]
"""Applies events (in order, none seen before) in the transaction it is given; no commit.

For read models that can write many events in one statement; each event gets its own
processing span only with ``ApplyEvent``.
"""


@dataclass(frozen=True, slots=True)
class ConsumerConfig:
    group_id: str
    topics: Sequence[str]
    schema: str
    """The consuming service's schema, which holds its ``processed_events`` table."""
    bootstrap_servers: str
    max_retries: int = 3
    retry_backoff: float = 0.2
    max_records: int = 500
    fetch_max_wait_ms: int = 100
    """How long the broker may hold a fetch that finds no new events. The client sends one
    fetch per broker at a time, for the partitions it holds no unread events of: with
    Kafka's 500 ms, a fetch for quiet topics (analytics reads three) held back the next
    fetch of a busy one for half a second, the median delay to the read models at 200
    changes/s. Shorter costs an idle consumer a few more fetches a second."""
    event_types: frozenset[str] | None = None
    """The event types the consumer applies; any other is passed over with no claim and no
    transaction (a service that reacts to two kinds of another's events need not record every
    event of its topic as processed). None: every type."""


class IdempotentConsumer:
    def __init__(
        self,
        engine: AsyncEngine,
        config: ConsumerConfig,
        apply: ApplyEvent | None = None,
        metrics: ConsumerMetrics | None = None,
        *,
        apply_batch: ApplyBatch | None = None,
    ) -> None:
        if (apply is None) == (apply_batch is None):
            raise ValueError("give exactly one of apply and apply_batch")
        self.engine = engine.execution_options(schema_translate_map=schema_map(config.schema))
        self.config = config
        self.apply = apply
        self.apply_batch = apply_batch
        # Fixed text whatever the batch size, so it is prepared once.
        self._claim_statement = text(
            f'INSERT INTO "{validate_schema_name(config.schema)}".processed_events'
            " (consumer, event_id) SELECT :consumer, unnest(CAST(:ids AS text[]))"
            " ON CONFLICT DO NOTHING RETURNING event_id"
        )
        self.metrics = metrics
        self.dead_letters = DeadLetterPublisher(
            config.bootstrap_servers, client_id=f"{config.group_id}-dlq"
        )

    def subscribe(self, broker: KafkaBroker) -> None:
        """Register this consumer on ``broker``: batches, manual commits, from the start."""

        async def handle(message: KafkaMessageContext) -> None:
            await self.handle(message)

        broker.subscriber(
            *self.config.topics,
            group_id=self.config.group_id,
            batch=True,
            max_records=self.config.max_records,
            fetch_max_wait_ms=self.config.fetch_max_wait_ms,
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.MANUAL,
        )(handle)

    async def handle(self, message: KafkaMessage) -> None:
        """Apply a batch, then commit its offsets; on failure, rewind so nothing is skipped."""
        raw = message.raw_message
        records = raw if isinstance(raw, tuple) else (raw,)
        try:
            await self.handle_records(records)
        except BaseException as error:
            # Nothing of this batch is committed: rewind and let it be delivered again.
            await message.nack()
            if is_transient(error):
                log.warning("batch postponed, infrastructure unavailable: %r", error)
                await asyncio.sleep(self.config.retry_backoff)
                return
            raise
        await message.ack()
        self._report_lag(message, records)

    async def handle_records(self, records: Sequence[Any]) -> None:
        decoded: list[tuple[Any, EventEnvelope]] = []
        for record in records:
            try:
                decoded.append(
                    (record, from_kafka_record(record.key, record.value, record.headers))
                )
            except Exception as error:  # undecodable: no retry will help
                await self._dead_letter(record, error, attempts=1)
        wanted = self.config.event_types
        if wanted is not None:
            decoded = [
                (record, envelope) for record, envelope in decoded if envelope.type in wanted
            ]
        if not decoded:
            return
        try:
            await self._apply_in_one_transaction(decoded)
        except Exception as error:
            if is_transient(error):
                raise
            log.warning("batch of %d failed (%r); applying one by one", len(decoded), error)
            for record, envelope in decoded:
                await self._apply_with_retries(record, envelope)

    async def _apply_in_one_transaction(self, decoded: Sequence[tuple[Any, EventEnvelope]]) -> None:
        async with self.engine.begin() as connection:
            await self._apply_fresh(connection, decoded)

    async def _apply_fresh(
        self, connection: AsyncConnection, decoded: Sequence[tuple[Any, EventEnvelope]]
    ) -> None:
        """Claim the events' ids and apply those claimed for the first time, in order."""
        fresh_ids = await self._claim(connection, [envelope for _, envelope in decoded])
        fresh: list[tuple[Any, EventEnvelope]] = []
        for record, envelope in decoded:
            if envelope.id in fresh_ids:
                fresh_ids.discard(envelope.id)  # a second copy in the same batch is a duplicate
                fresh.append((record, envelope))
        if self.metrics and len(fresh) < len(decoded):
            self.metrics.duplicates.inc(len(decoded) - len(fresh))
        if not fresh:
            return
        started = time.perf_counter()
        if self.apply_batch is not None:
            with start_batch_process_span(fresh, self.config.group_id):
                await self.apply_batch(connection, [envelope for _, envelope in fresh])
        else:
            assert self.apply is not None
            for record, envelope in fresh:
                with start_process_span(record, envelope, self.config.group_id):
                    await self.apply(connection, envelope)
        if self.metrics:
            elapsed = (time.perf_counter() - started) / len(fresh)
            for _, envelope in fresh:
                self.metrics.observe_handler(envelope.type, elapsed)
            self.metrics.applied_events([envelope.time for _, envelope in fresh])

    async def _apply_with_retries(self, record: Any, envelope: EventEnvelope) -> None:
        attempts = 0
        while True:
            attempts += 1
            try:
                async with self.engine.begin() as connection:
                    await self._apply_fresh(connection, [(record, envelope)])
                return
            except Exception as error:
                if is_transient(error):
                    raise
                if attempts > self.config.max_retries:
                    await self._dead_letter(record, error, attempts)
                    return
                if self.metrics:
                    self.metrics.retries.inc()
                await asyncio.sleep(self.config.retry_backoff * 2 ** (attempts - 1))

    async def _claim(
        self, connection: AsyncConnection, envelopes: Sequence[EventEnvelope]
    ) -> set[str]:
        """Record the events' ids as applied by this consumer; returns those not seen before."""
        statement = self._claim_statement
        parameters = {"consumer": self.config.group_id, "ids": [e.id for e in envelopes]}
        claimed = (await connection.execute(statement, parameters)).scalars().all()
        return {str(event_id) for event_id in claimed}

    async def _dead_letter(self, record: Any, error: BaseException, attempts: int) -> None:
        log.error(
            "event at %s[%d]@%d sent to the dead-letter topic after %d attempt(s): %r",
            record.topic,
            record.partition,
            record.offset,
            attempts,
            error,
        )
        await self.dead_letters.publish(record, self.config.group_id, error, attempts)
        if self.metrics:
            self.metrics.dead_letter(record.topic)

    def _report_lag(self, message: KafkaMessage, records: Sequence[Any]) -> None:
        if self.metrics is None:
            return
        consumer = getattr(message, "consumer", None)
        highwater = getattr(consumer, "highwater", None)
        if highwater is None:
            return
        last: dict[tuple[str, int], int] = {}
        for record in records:
            last[(record.topic, record.partition)] = record.offset
        for (topic, partition), offset in last.items():
            end = highwater(TopicPartition(topic, partition))
            if end is not None:
                self.metrics.set_lag(topic, partition, max(end - offset - 1, 0))

    async def close(self) -> None:
        await self.dead_letters.close()

    async def processed_count(self) -> int:
        """How many events this consumer has applied (for tests and diagnostics)."""
        async with self.engine.connect() as connection:
            result = await connection.execute(
                select(func.count()).where(processed_events.c.consumer == self.config.group_id)
            )
            return int(result.scalar_one())


def is_transient(error: BaseException) -> bool:
    """Errors of the infrastructure, not of the event: retry later, never dead-letter."""
    if isinstance(error, OSError | TimeoutError | ConnectionError):
        return True
    if isinstance(error, OperationalError | InterfaceError):
        return True
    return isinstance(error, DBAPIError) and bool(error.connection_invalidated)
