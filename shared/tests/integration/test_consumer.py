"""Consumers apply every event exactly once, dead-letter poison, and stop gracefully."""

from __future__ import annotations

import asyncio
import logging
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from prometheus_client import CollectorRegistry
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_shared.consumer import ConsumerConfig, IdempotentConsumer, consumer_broker, dlq_topic
from crm_shared.events.envelope import EventEnvelope, dataschema_for
from crm_shared.events.kafka_binding import to_kafka_record
from crm_shared.telemetry.pipeline_metrics import ConsumerMetrics

from .helpers import create_topics, read_topic
from .read_model import applications, applier, create_table

pytestmark = pytest.mark.integration

PROCESSES = Path(__file__).parent / "processes"


def envelope(customer: str, version: int, **data: Any) -> EventEnvelope:
    event_type = "crm.contacts.contact.renamed"
    return EventEnvelope(
        id=str(uuid.uuid4()),
        source="/crm/test",
        type=event_type,
        time=datetime.now(UTC),
        subject=customer,
        dataschema=dataschema_for(event_type, 1),
        data={"name": f"v{version}", **data},
        tenantid="tenant-1",
        actor="user-1",
        correlationid="corr-1",
        streamid=customer,
        streamversion=version,
        partitionkey=customer,
    )


async def publish(bootstrap: str, topic: str, envelopes: list[EventEnvelope]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
    await producer.start()
    try:
        for item in envelopes:
            record = to_kafka_record(item)
            await producer.send(topic, record.value, key=record.key, headers=record.headers)
        await producer.flush()
    finally:
        await producer.stop()


async def wait_for(condition: Callable[[], Awaitable[bool]], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.1)


@pytest.fixture
async def topic(kafka_bootstrap: str, unique_name: str) -> str:
    name = f"crm.{unique_name}.events"
    await create_topics(kafka_bootstrap, name, dlq_topic(name))
    return name


@pytest.fixture
async def read_model(engine: AsyncEngine, schema: str) -> str:
    await create_table(engine, schema)
    return schema


class RunningConsumer:
    def __init__(
        self, consumer: IdempotentConsumer, metrics: ConsumerMetrics, registry: CollectorRegistry
    ) -> None:
        self.consumer = consumer
        self.metrics = metrics
        self.registry = registry


@pytest.fixture
async def running_consumer(
    engine: AsyncEngine, read_model: str, topic: str, kafka_bootstrap: str, unique_name: str
) -> AsyncIterator[RunningConsumer]:
    registry = CollectorRegistry()
    metrics = ConsumerMetrics(registry, group=unique_name)
    config = ConsumerConfig(
        group_id=unique_name,
        topics=[topic],
        schema=read_model,
        bootstrap_servers=kafka_bootstrap,
        max_retries=2,
        retry_backoff=0.01,
    )
    consumer = IdempotentConsumer(engine, config, applier(read_model), metrics)
    broker = consumer_broker(kafka_bootstrap, [consumer], graceful_timeout=10)
    await broker.start()
    yield RunningConsumer(consumer, metrics, registry)
    await broker.stop()
    await consumer.close()


async def test_applies_each_event_once_even_when_delivered_twice(
    running_consumer: RunningConsumer,
    engine: AsyncEngine,
    read_model: str,
    topic: str,
    kafka_bootstrap: str,
) -> None:
    events = [envelope("c1", v) for v in (1, 2, 3)]
    await publish(kafka_bootstrap, topic, events + events)  # a relay re-publish, say

    async def all_seen() -> bool:
        return running_consumer.metrics.duplicates_seen() >= 3

    await wait_for(all_seen)
    rows = await applications(engine, read_model)
    assert sorted(r[0] for r in rows) == sorted(e.id for e in events)
    assert [r[2] for r in rows] == [1, 2, 3]


async def test_the_brokers_lines_per_batch_are_the_services_own_log_records_at_debug(
    running_consumer: RunningConsumer,
    engine: AsyncEngine,
    read_model: str,
    topic: str,
    kafka_bootstrap: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def applied(count: int) -> Callable[[], Awaitable[bool]]:
        async def done() -> bool:
            return len(await applications(engine, read_model)) >= count

        return done

    caplog.set_level(logging.INFO)
    await publish(kafka_bootstrap, topic, [envelope("c1", 1)])
    await wait_for(applied(1))
    assert not [r for r in caplog.records if r.name.startswith(("crm.consumer", "faststream"))]

    caplog.set_level(logging.DEBUG)
    await publish(kafka_bootstrap, topic, [envelope("c2", 1)])
    await wait_for(applied(2))

    def broker_lines() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.name == "crm.consumer.broker"]

    async def processed_logged() -> bool:  # written once the handler has returned: after
        return any(r.getMessage().endswith("Processed") for r in broker_lines())  # commit

    with suppress(AssertionError):
        await wait_for(processed_logged, timeout=5)
    lines = broker_lines()
    assert {r.getMessage().split(" - ")[-1] for r in lines} >= {"Received", "Processed"}
    assert {r.levelno for r in lines} == {logging.DEBUG}


async def test_a_consumer_of_some_event_types_passes_over_the_others_without_claiming_them(
    engine: AsyncEngine, read_model: str, topic: str, kafka_bootstrap: str, unique_name: str
) -> None:
    merged_type = "crm.contacts.contact.merged"
    merged = envelope("c1", 4).model_copy(
        update={"type": merged_type, "dataschema": dataschema_for(merged_type, 1)}
    )
    renames = [envelope("c1", v) for v in (1, 2, 3)]
    config = ConsumerConfig(
        unique_name,
        [topic],
        read_model,
        kafka_bootstrap,
        event_types=frozenset({merged_type}),
    )
    consumer = IdempotentConsumer(engine, config, applier(read_model))
    broker = consumer_broker(kafka_bootstrap, [consumer], graceful_timeout=10)
    await publish(kafka_bootstrap, topic, [*renames, merged])
    await broker.start()
    try:

        async def merge_applied() -> bool:
            return len(await applications(engine, read_model)) >= 1

        await wait_for(merge_applied)
        await asyncio.sleep(1)  # time for anything else to (wrongly) arrive
    finally:
        await broker.stop()
        await consumer.close()
    assert [row[0] for row in await applications(engine, read_model)] == [merged.id]
    async with engine.connect() as connection:
        claimed = await connection.execute(
            text(f'SELECT event_id FROM "{read_model}".processed_events WHERE consumer = :group'),
            {"group": unique_name},
        )
        assert [row.event_id for row in claimed] == [merged.id]


async def test_replaying_the_topic_from_the_start_changes_nothing(
    engine: AsyncEngine, read_model: str, topic: str, kafka_bootstrap: str, unique_name: str
) -> None:
    config = ConsumerConfig(
        group_id=unique_name, topics=[topic], schema=read_model, bootstrap_servers=kafka_bootstrap
    )
    events = [envelope(f"c{i}", 1) for i in range(20)]
    await publish(kafka_bootstrap, topic, events)

    first = IdempotentConsumer(engine, config, applier(read_model))
    broker = consumer_broker(kafka_bootstrap, [first], graceful_timeout=5)
    await broker.start()

    async def applied() -> bool:
        return len(await applications(engine, read_model)) == 20

    await wait_for(applied)
    await broker.stop()
    await first.close()

    await rewind_group(kafka_bootstrap, unique_name, topic)
    metrics = ConsumerMetrics(CollectorRegistry(), group=unique_name)
    second = IdempotentConsumer(engine, config, applier(read_model), metrics)
    broker = consumer_broker(kafka_bootstrap, [second], graceful_timeout=5)
    await broker.start()
    try:

        async def redelivered() -> bool:
            return metrics.duplicates_seen() == 20

        await wait_for(redelivered)
    finally:
        await broker.stop()
        await second.close()
    assert len(await applications(engine, read_model)) == 20


async def rewind_group(bootstrap: str, group: str, topic: str) -> None:
    """Commit offset 0 on every partition for ``group`` (which must have no members)."""
    rewinder = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False
    )
    await rewinder.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(3)]  # as the fixture created it
        rewinder.assign(partitions)
        await rewinder.commit(dict.fromkeys(partitions, 0))
    finally:
        await rewinder.stop()


async def test_a_poison_event_goes_to_the_dead_letter_topic_and_the_rest_are_applied(
    running_consumer: RunningConsumer,
    engine: AsyncEngine,
    read_model: str,
    topic: str,
    kafka_bootstrap: str,
    unique_name: str,
) -> None:
    poison = envelope("c1", 2, poison=True)
    events = [envelope("c1", 1), poison, envelope("c1", 3), envelope("c2", 1)]
    await publish(kafka_bootstrap, topic, events)

    async def rest_applied() -> bool:
        return len(await applications(engine, read_model)) == 3

    await wait_for(rest_applied)
    [dead] = await read_topic(kafka_bootstrap, dlq_topic(topic), expected=1)
    headers = dict(dead.headers)
    assert headers["ce_id"] == poison.id.encode()
    assert headers["dlq_error_type"].endswith(b"PoisonEvent")
    assert headers["dlq_original_topic"] == topic.encode()
    assert headers["dlq_consumer_group"] == unique_name.encode()
    assert headers["dlq_attempts"] == b"3"
    assert dead.value == to_kafka_record(poison).value
    assert running_consumer.metrics.dead_letters(topic) == 1
    lags = [
        sample.value
        for family in running_consumer.registry.collect()
        if family.name == "crm_consumer_lag_messages"
        for sample in family.samples
        if sample.labels["topic"] == topic
    ]
    assert lags
    assert all(lag == 0 for lag in lags)  # caught up


async def test_an_undecodable_message_is_dead_lettered_without_retries(
    running_consumer: RunningConsumer,
    engine: AsyncEngine,
    read_model: str,
    topic: str,
    kafka_bootstrap: str,
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    await producer.send_and_wait(topic, b"not json", key=b"c9", headers=[("ce_id", b"x")])
    await producer.stop()
    await publish(kafka_bootstrap, topic, [envelope("c9", 1)])

    async def applied() -> bool:
        return len(await applications(engine, read_model)) == 1

    await wait_for(applied)
    [dead] = await read_topic(kafka_bootstrap, dlq_topic(topic), expected=1)
    assert dict(dead.headers)["dlq_attempts"] == b"1"


@pytest.mark.slow
async def test_sigterm_finishes_the_event_in_hand_commits_and_leaves_the_group(
    engine: AsyncEngine,
    read_model: str,
    topic: str,
    kafka_bootstrap: str,
    database_url: str,
    unique_name: str,
) -> None:
    slow = envelope("c1", 1, slow=True)
    command = [
        sys.executable,
        str(PROCESSES / "consumer_process.py"),
        "--database-url",
        database_url,
        "--schema",
        read_model,
        "--topic",
        topic,
        "--group",
        unique_name,
        "--bootstrap",
        kafka_bootstrap,
        "--slow-seconds",
        "3",
    ]
    process = subprocess.Popen(command)
    try:
        await asyncio.sleep(4)  # joined the group
        await publish(kafka_bootstrap, topic, [slow])
        await asyncio.sleep(1.5)  # the handler is now inside its 3 s of work
        process.send_signal(signal.SIGTERM)
        stopped_at = time.monotonic()
        returncode = await asyncio.to_thread(process.wait, 30)
        shutdown_seconds = time.monotonic() - stopped_at
    finally:
        if process.poll() is None:
            process.kill()
    assert returncode == 0
    assert shutdown_seconds < 15
    assert [row[0] for row in await applications(engine, read_model)] == [slow.id]

    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(unique_name)
        [description] = await admin.describe_consumer_groups([unique_name])
    finally:
        await admin.close()
    committed = {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic}
    assert sum(committed.values()) == 1  # the one event, committed before leaving
    assert _group_state(description) == "Empty"  # left at once, no session timeout to wait


def _group_state(description: Any) -> str:
    groups = getattr(description, "groups", None)
    if groups:
        state = groups[0][2]
        return state.decode() if isinstance(state, bytes) else str(state)
    return str(description)


@pytest.mark.slow
async def test_a_database_outage_postpones_events_without_dead_lettering_any(
    topic: str, kafka_bootstrap: str, unique_name: str, tmp_path: Path
) -> None:
    from sqlalchemy.ext.asyncio import create_async_engine

    from crm_devstack.postgres import PostgresServer
    from crm_shared.eventstore import upgrade
    from crm_shared.settings import async_database_url

    server = PostgresServer(tmp_path / "pg")
    await asyncio.to_thread(server.start)
    url = async_database_url(server.url)
    engine = create_async_engine(url, pool_pre_ping=True)
    try:
        await upgrade(url, "outage")
        await create_table(engine, "outage")
        metrics = ConsumerMetrics(CollectorRegistry(), group=unique_name)
        consumer = IdempotentConsumer(
            engine,
            ConsumerConfig(
                group_id=unique_name,
                topics=[topic],
                schema="outage",
                bootstrap_servers=kafka_bootstrap,
                retry_backoff=0.05,
            ),
            applier("outage"),
            metrics,
        )
        broker = consumer_broker(kafka_bootstrap, [consumer], graceful_timeout=5)
        await broker.start()
        try:
            before = [envelope(f"c{i}", 1) for i in range(5)]
            await publish(kafka_bootstrap, topic, before)

            def has_applied(n: int) -> Callable[[], Awaitable[bool]]:
                async def reached() -> bool:
                    return len(await applications(engine, "outage")) == n

                return reached

            await wait_for(has_applied(5))
            await asyncio.to_thread(server.stop)
            during = [envelope(f"d{i}", 1) for i in range(5)]
            await publish(kafka_bootstrap, topic, during)  # arrive while the database is down
            await asyncio.sleep(3)
            await asyncio.to_thread(server.start)
            await wait_for(has_applied(10), timeout=90)
        finally:
            await broker.stop()
            await consumer.close()
        assert metrics.dead_letters(topic) == 0
        applied = [row[0] for row in await applications(engine, "outage")]
        assert sorted(applied) == sorted(e.id for e in before + during)
    finally:
        await engine.dispose()
        await asyncio.to_thread(server.stop)


async def test_a_quiet_topic_never_holds_back_the_next_event_of_a_busy_one(
    engine: AsyncEngine, read_model: str, topic: str, kafka_bootstrap: str, unique_name: str
) -> None:
    """The client has one fetch at a time in flight to a broker, for the partitions it holds
    nothing unread of. While a batch is applied, its partition's next event is fetched and
    held unread; the fetch after that is for the other partitions, a quiet topic's among
    them, and the broker holds it for as long as the consumer allows when nothing comes.
    The next event of the busy partition waits for it to end: about 450 ms with Kafka's
    default wait of 500 ms, about 50 ms with the consumers' 100 ms."""
    quiet = f"crm.{unique_name}.quiet"
    await create_topics(kafka_bootstrap, quiet, dlq_topic(quiet))
    applied: dict[str, float] = {}
    slow_batch, second_applied = asyncio.Event(), asyncio.Event()

    async def apply(connection: Any, event: EventEnvelope) -> None:
        if event.data["name"] == "v1":  # the first event: a batch that takes its time
            slow_batch.set()
            await asyncio.sleep(0.2)
        applied[event.id] = time.monotonic()
        if event.data["name"] == "v2":
            second_applied.set()

    config = ConsumerConfig(unique_name, [topic, quiet], read_model, kafka_bootstrap)
    consumer = IdempotentConsumer(engine, config, apply)
    broker = consumer_broker(kafka_bootstrap, [consumer], graceful_timeout=10)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    await broker.start()

    async def send(item: EventEnvelope) -> None:
        record = to_kafka_record(item)
        await producer.send_and_wait(topic, record.value, key=record.key, headers=record.headers)

    try:
        first, second, third = (envelope("ada", version) for version in (1, 2, 3))
        await send(first)
        await asyncio.wait_for(slow_batch.wait(), 60)
        await asyncio.sleep(0.05)
        await send(second)  # fetched while the first is applied, then held unread
        await asyncio.wait_for(second_applied.wait(), 60)
        sent = time.monotonic()
        await send(third)
        await wait_for(lambda: asyncio.sleep(0, third.id in applied), timeout=10)
    finally:
        await broker.stop()
        await consumer.close()
        await producer.stop()
    assert applied[third.id] - sent < 0.3
