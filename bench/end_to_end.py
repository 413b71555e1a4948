"""(c) End to end: append, relay to Kafka, consumer applies to a read model.

Throughput: writers append batches as fast as they can while the relay and an idempotent
consumer run; the figure is events applied per second from the first append to the last
application. Latency: single-event commands at a fixed offered rate; each event's latency is
the time from just before its append to its application in the consumer's transaction.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable

from faststream.kafka import KafkaBroker
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bench.appends import METADATA, contact_event
from bench.stats import percentile
from crm_shared.consumer import ConsumerConfig, IdempotentConsumer, consumer_broker
from crm_shared.events.envelope import EventEnvelope
from crm_shared.eventstore import EventStore, upgrade
from crm_shared.relay import OutboxRelay, RelayConfig


class Pipeline:
    """A fresh schema and topic with a running relay and consumer."""

    def __init__(self, engine: AsyncEngine, database_url: str, bootstrap: str) -> None:
        self.engine = engine
        self.database_url = database_url
        self.bootstrap = bootstrap
        self.schema = f"bench_{uuid.uuid4().hex[:8]}"
        self.topic = f"crm.{self.schema}.events"
        self.store = EventStore(engine, self.schema)
        self.applied = 0
        self.latencies: list[float] = []
        self.on_applied: Callable[[], None] = lambda: None
        self._stop = asyncio.Event()
        self._relay_task: asyncio.Task[None] | None = None
        self._broker: KafkaBroker | None = None
        self._relay: OutboxRelay | None = None
        self._consumer: IdempotentConsumer | None = None

    async def __aenter__(self) -> Pipeline:
        await upgrade(self.database_url, self.schema)
        async with self.engine.begin() as connection:
            await connection.execute(text(
                f"CREATE TABLE {self.schema}.contact_view "
                "(customer text PRIMARY KEY, name text, version int)"
            ))
        from aiokafka.admin import AIOKafkaAdminClient, NewTopic

        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        await admin.create_topics([NewTopic(self.topic, 3, 1), NewTopic(f"{self.topic}.dlq", 1, 1)])
        await admin.close()

        self._relay = OutboxRelay(self.engine, RelayConfig(
            schema=self.schema, topic=self.topic, source="/crm/bench",
            bootstrap_servers=self.bootstrap, batch_size=1000, poll_interval=0.01,
        ))
        self._consumer = IdempotentConsumer(
            self.engine,
            ConsumerConfig(group_id=f"{self.schema}-view", topics=[self.topic],
                           schema=self.schema, bootstrap_servers=self.bootstrap,
                           max_records=1000),
            self.apply,
        )
        self._broker = consumer_broker(self.bootstrap, [self._consumer], graceful_timeout=10)
        await self._broker.start()
        self._relay_task = asyncio.create_task(self._relay.run(self._stop))
        return self

    async def apply(self, connection: AsyncConnection, envelope: EventEnvelope) -> None:
        await connection.execute(
            text(
                f"INSERT INTO {self.schema}.contact_view VALUES (:c, :n, :v) "
                "ON CONFLICT (customer) DO UPDATE SET name = excluded.name, version = excluded.version"
            ),
            {"c": envelope.partitionkey, "n": envelope.data.get("name"), "v": envelope.streamversion},
        )
        sent = envelope.data.get("sent_at")
        if isinstance(sent, float):
            self.latencies.append(time.time() - sent)
        self.applied += 1

    async def wait_applied(self, count: int, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while self.applied < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"applied {self.applied} of {count}")
            await asyncio.sleep(0.005)

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        if self._relay_task:
            await self._relay_task
        if self._relay:
            await self._relay.close()
        if self._broker:
            await self._broker.stop()
        if self._consumer:
            await self._consumer.close()


async def throughput(
    engine: AsyncEngine, database_url: str, bootstrap: str, events: int, writers: int = 8
) -> dict[str, float]:
    async with Pipeline(engine, database_url, bootstrap) as pipeline:
        per_writer = events // writers // 100

        async def writer() -> None:
            stream = f"contact-{uuid.uuid4()}"
            for index in range(per_writer):
                batch = [contact_event(stream, index * 100 + i) for i in range(100)]
                await pipeline.store.append(stream, index * 100, batch, METADATA)

        started = time.perf_counter()
        await asyncio.gather(*(writer() for _ in range(writers)))
        appended = time.perf_counter()
        total = per_writer * 100 * writers
        await pipeline.wait_applied(total)
        finished = time.perf_counter()
    return {
        "events": total,
        "append_events_per_s": total / (appended - started),
        "end_to_end_events_per_s": total / (finished - started),
    }


async def latency_at_fixed_rate(
    engine: AsyncEngine, database_url: str, bootstrap: str, rate: float, seconds: float
) -> dict[str, float]:
    async with Pipeline(engine, database_url, bootstrap) as pipeline:
        total = int(rate * seconds)
        customers = [f"contact-{uuid.uuid4()}" for _ in range(200)]
        versions = dict.fromkeys(customers, 0)
        locks = {c: asyncio.Lock() for c in customers}
        in_flight: set[asyncio.Task[None]] = set()

        async def command(customer: str) -> None:
            async with locks[customer]:
                version = versions[customer]
                event = contact_event(customer, version)
                event.data["sent_at"] = time.time()
                await pipeline.store.append(customer, version, [event], METADATA)
                versions[customer] = version + 1

        started = time.perf_counter()
        for index in range(total):
            delay = started + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(command(customers[index % len(customers)]))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        offered_for = time.perf_counter() - started
        await asyncio.gather(*list(in_flight))
        await pipeline.wait_applied(total)
        latencies = pipeline.latencies
    return {
        "offered_events_per_s": rate,
        "achieved_offered_events_per_s": total / offered_for,
        "events": total,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "max_ms": max(latencies) * 1000,
    }
