"""The outbox relay: every committed event reaches Kafka, in order per customer, never lost."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_shared.events.kafka_binding import from_kafka_record
from crm_shared.eventstore import EventStore
from crm_shared.relay import OutboxRelay, RelayConfig
from crm_shared.telemetry import RelayMetrics

from .helpers import METADATA, contact_created, create_topics, new_stream_id, read_topic, renamed

pytestmark = pytest.mark.integration

PROCESSES = Path(__file__).parent / "processes"


def relay_for(engine: AsyncEngine, schema: str, topic: str, bootstrap: str) -> OutboxRelay:
    config = RelayConfig(
        schema=schema, topic=topic, source="/crm/test", bootstrap_servers=bootstrap, batch_size=50
    )
    return OutboxRelay(engine, config)


async def drain(relay: OutboxRelay) -> int:
    total = 0
    while (published := await relay.publish_next_batch()) > 0:
        total += published
    return total


async def write_history(store: EventStore, customers: int, renames: int) -> list[str]:
    streams = [new_stream_id() for _ in range(customers)]
    for stream in streams:
        await store.append(stream, 0, [contact_created(stream)], METADATA)
    for version in range(1, renames + 1):
        for stream in streams:
            await store.append(stream, version, [renamed(stream, f"n{version}")], METADATA)
    return streams


def versions_per_key(records: Sequence[Any]) -> dict[str, list[int]]:
    seen: dict[str, list[int]] = defaultdict(list)
    for record in records:
        envelope = from_kafka_record(record.key, record.value, record.headers)
        seen[envelope.partitionkey].append(envelope.streamversion)
    return seen


def assert_complete_and_in_order(
    records: Sequence[Any], streams: Sequence[str], versions: int, duplicates_allowed: bool
) -> None:
    seen = versions_per_key(records)
    assert set(seen) == set(streams)
    for stream in streams:
        first_seen = list(dict.fromkeys(seen[stream]))
        assert first_seen == list(range(1, versions + 1)), stream
        if not duplicates_allowed:
            assert seen[stream] == first_seen
        # Re-published runs restart lower but never reorder what a consumer applies first.


@pytest.fixture
async def topic(kafka_bootstrap: str, unique_name: str) -> str:
    await create_topics(kafka_bootstrap, f"crm.{unique_name}.events")
    return f"crm.{unique_name}.events"


async def test_publishes_committed_events_as_cloudevents_keyed_by_customer(
    store: EventStore, engine: AsyncEngine, schema: str, topic: str, kafka_bootstrap: str
) -> None:
    streams = await write_history(store, customers=5, renames=3)
    registry = CollectorRegistry()
    relay = relay_for(engine, schema, topic, kafka_bootstrap)
    relay.metrics = RelayMetrics(registry, service=schema, topic=topic)
    try:
        assert await drain(relay) == 20
    finally:
        await relay.close()
    labels = {"service": schema, "topic": topic}
    assert registry.get_sample_value("crm_relay_published_events_total", labels) == 20
    assert registry.get_sample_value("crm_relay_backlog_events", labels) == 0
    assert registry.get_sample_value("crm_relay_position", labels) == 20
    records = await read_topic(kafka_bootstrap, topic, expected=20)
    assert_complete_and_in_order(records, streams, versions=4, duplicates_allowed=False)
    first = records[0]
    headers = dict(first.headers)
    assert headers["ce_specversion"] == b"1.0"
    assert headers["ce_source"] == b"/crm/test"
    assert headers["ce_tenantid"] == b"tenant-1"
    assert headers["content-type"] == b"application/json"
    envelope = from_kafka_record(first.key, first.value, first.headers)
    assert first.key == envelope.partitionkey.encode()
    assert await relay.reader.checkpoint(topic) == await store.head_position()


async def test_under_load_the_position_is_saved_now_and_then_and_always_once_caught_up(
    store: EventStore, engine: AsyncEngine, schema: str, topic: str, kafka_bootstrap: str
) -> None:
    await write_history(store, customers=10, renames=9)  # 100 events
    config = RelayConfig(schema, topic, "/crm/test", kafka_bootstrap, batch_size=30)
    relay = OutboxRelay(engine, replace(config, checkpoint_interval=3600))
    try:
        saved = []
        for _ in range(4):
            assert await relay.publish_next_batch() > 0
            saved.append(await relay.reader.checkpoint(topic))
        assert saved == [30, 30, 30, 30]  # the first batch's, then none for an hour
        assert await relay.publish_next_batch() == 0
        assert await relay.reader.checkpoint(topic) == 100  # caught up: saved
    finally:
        await relay.close()


async def test_a_checkpoint_set_back_to_zero_publishes_the_whole_history_again_unchanged(
    store: EventStore, engine: AsyncEngine, schema: str, topic: str, kafka_bootstrap: str
) -> None:
    """How an operator refills a lost topic from the store (docs/operations.md): the same
    events, same ids, same order per customer, so consumers skip what they already applied."""
    streams = await write_history(store, customers=4, renames=2)
    first = relay_for(engine, schema, topic, kafka_bootstrap)
    try:
        assert await drain(first) == 12
    finally:
        await first.close()
    async with engine.begin() as connection:
        await connection.execute(
            text(f'UPDATE "{schema}".relay_checkpoints SET position = 0 WHERE topic = :topic'),
            {"topic": topic},
        )
    again = relay_for(engine, schema, topic, kafka_bootstrap)
    try:
        assert await drain(again) == 12
    finally:
        await again.close()
    records = await read_topic(kafka_bootstrap, topic, expected=24)
    envelopes = [from_kafka_record(r.key, r.value, r.headers) for r in records]
    for stream in streams:
        ids = [e.id for e in envelopes if e.partitionkey == stream]
        assert ids[:3] == ids[3:]
        assert len(set(ids)) == 3
    assert_complete_and_in_order(records, streams, versions=3, duplicates_allowed=True)


async def test_an_uncommitted_lower_position_holds_back_the_higher_ones(
    store: EventStore, engine: AsyncEngine, schema: str, topic: str, kafka_bootstrap: str
) -> None:
    relay = relay_for(engine, schema, topic, kafka_bootstrap)
    slow, fast = new_stream_id(), new_stream_id()
    try:
        async with store.unit_of_work() as uow:
            [held] = await uow.append(slow, 0, [contact_created(slow)], METADATA)
            [done] = await store.append(fast, 0, [contact_created(fast)], METADATA)
            assert held.global_position < done.global_position
            # The higher position is committed and visible; the lower one is still in flight.
            assert await drain(relay) == 0
        assert await drain(relay) == 2
    finally:
        await relay.close()
    records = await read_topic(kafka_bootstrap, topic, expected=2)
    published = [from_kafka_record(r.key, r.value, r.headers).streamid for r in records]
    assert sorted(published) == sorted([slow, fast])
    assert relay.position == done.global_position


async def test_a_gap_held_by_a_transaction_younger_than_the_latest_commit_is_waited_for(
    store: EventStore, engine: AsyncEngine, schema: str, topic: str, kafka_bootstrap: str
) -> None:
    """The holder's id is above the snapshot's xmax, so PostgreSQL does not list it as running.

    B begins first (lower transaction id), A second; A draws the lower position, B the higher
    one and commits. A snapshot now lists no running transaction below its xmax, yet A runs.
    """
    relay = relay_for(engine, schema, topic, kafka_bootstrap)
    older, younger = new_stream_id(), new_stream_id()
    try:
        async with store.unit_of_work() as b, store.unit_of_work() as a:
            [held] = await a.append(younger, 0, [contact_created(younger)], METADATA)
            await b.append(older, 0, [contact_created(older)], METADATA)
            await b.connection.exec_driver_sql("COMMIT")  # B commits while A still runs
            await b.connection.exec_driver_sql("BEGIN")  # so that B's block can end normally
            assert await drain(relay) == 0
            assert await drain(relay) == 0  # and keeps waiting on the next look
        assert await drain(relay) == 2
    finally:
        await relay.close()
    records = await read_topic(kafka_bootstrap, topic, expected=2)
    published = {from_kafka_record(r.key, r.value, r.headers).streamid for r in records}
    assert published == {older, younger}
    assert relay.position == held.global_position + 1


async def test_a_rolled_back_append_leaves_a_hole_that_is_stepped_over(
    store: EventStore, engine: AsyncEngine, schema: str, topic: str, kafka_bootstrap: str
) -> None:
    relay = relay_for(engine, schema, topic, kafka_bootstrap)
    abandoned, kept = new_stream_id(), new_stream_id()
    try:
        with pytest.raises(RuntimeError):
            async with store.unit_of_work() as uow:
                await uow.append(abandoned, 0, [contact_created(abandoned)], METADATA)
                raise RuntimeError("command failed")
        [written] = await store.append(kept, 0, [contact_created(kept)], METADATA)
        assert written.global_position == 2  # position 1 was drawn and rolled back
        assert await drain(relay) == 0  # first sight of the hole: its fillers are unknown
        assert await drain(relay) == 1  # every transaction that could fill it has ended
    finally:
        await relay.close()
    assert relay.position == 2


async def test_concurrent_writers_never_make_the_relay_skip_an_event(
    store: EventStore, engine: AsyncEngine, schema: str, topic: str, kafka_bootstrap: str
) -> None:
    """32 writers commit out of position order while the relay publishes continuously."""
    relay = relay_for(engine, schema, topic, kafka_bootstrap)
    stop = asyncio.Event()
    runner = asyncio.create_task(relay.run(stop))
    streams = [new_stream_id() for _ in range(32)]

    async def writer(stream: str) -> None:
        for version in range(10):
            event = contact_created(stream) if version == 0 else renamed(stream, str(version))
            await store.append(stream, version, [event], METADATA)

    try:
        await asyncio.gather(*(writer(s) for s in streams))
        head = await store.head_position()
        while relay.position != head:
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await runner
        await relay.close()
    records = await read_topic(kafka_bootstrap, topic, expected=320)
    assert_complete_and_in_order(records, streams, versions=10, duplicates_allowed=False)


async def seconds_until_published(relay: OutboxRelay, position: int, limit: float) -> float:
    started = time.monotonic()
    while relay.position is None or relay.position < position:
        assert time.monotonic() - started < limit, "the relay did not publish in time"
        await asyncio.sleep(0.01)
    return time.monotonic() - started


@asynccontextmanager
async def idle_relay(
    engine: AsyncEngine, schema: str, topic: str, bootstrap: str, first_wait: float, longest: float
) -> AsyncIterator[OutboxRelay]:
    """A running relay that found nothing to publish and is waiting (``first_wait``, then
    doubling up to ``longest``)."""
    config = RelayConfig(
        schema, topic, "/crm/test", bootstrap, poll_interval=first_wait, idle_poll_max=longest
    )
    relay = OutboxRelay(engine, config)
    stop = asyncio.Event()
    runner = asyncio.create_task(relay.run(stop))
    await asyncio.sleep(1.5)
    try:
        yield relay
    finally:
        stop.set()
        await runner
        await relay.close()


async def test_an_idle_relay_publishes_a_commit_of_its_own_process_at_once(
    store: EventStore, engine: AsyncEngine, schema: str, topic: str, kafka_bootstrap: str
) -> None:
    """Idle, the relay does not ask the database over and over: here it waits 10 s before it
    looks again; a commit made in its process ends the wait."""
    async with idle_relay(engine, schema, topic, kafka_bootstrap, 10.0, 30.0) as relay:
        stream = new_stream_id()
        [event] = await store.append(stream, 0, [contact_created(stream)], METADATA)
        assert await seconds_until_published(relay, event.global_position, 20) < 2.0


async def test_an_idle_relay_finds_a_commit_of_another_process_within_its_longest_wait(
    store: EventStore, engine: AsyncEngine, schema: str, topic: str, kafka_bootstrap: str
) -> None:
    """A transaction the relay's process is not told of (another replica's, here one joined
    by the test) is found by the fallback look, at most ``idle_poll_max`` later."""
    async with idle_relay(engine, schema, topic, kafka_bootstrap, 0.02, 0.3) as relay:
        stream = new_stream_id()
        async with engine.begin() as connection, store.joined(connection) as uow:
            [event] = await uow.append(stream, 0, [contact_created(stream)], METADATA)
        assert await seconds_until_published(relay, event.global_position, 10) < 2.0


async def test_of_two_relays_for_one_topic_only_one_publishes(
    store: EventStore, engine: AsyncEngine, schema: str, topic: str, kafka_bootstrap: str
) -> None:
    streams = await write_history(store, customers=10, renames=4)
    relays = [relay_for(engine, schema, topic, kafka_bootstrap) for _ in range(2)]
    stop = asyncio.Event()
    running = [asyncio.create_task(relay.run(stop)) for relay in relays]
    try:
        head = await store.head_position()
        for _ in range(300):
            if any(relay.position == head for relay in relays):
                break
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # time enough for a second publisher to show itself
    finally:
        stop.set()
        await asyncio.gather(*running)
        for relay in relays:
            await relay.close()
    records = await read_topic(kafka_bootstrap, topic, expected=50)
    assert_complete_and_in_order(records, streams, versions=5, duplicates_allowed=False)
    assert sorted(relay.position or 0 for relay in relays) == [0, head]  # the standby idled


@pytest.mark.slow
async def test_a_relay_killed_between_publishing_and_checkpointing_only_republishes(
    store: EventStore, schema: str, topic: str, kafka_bootstrap: str, database_url: str
) -> None:
    streams = await write_history(store, customers=10, renames=9)  # 100 events
    command = [
        sys.executable,
        str(PROCESSES / "relay_process.py"),
        "--database-url",
        database_url,
        "--schema",
        schema,
        "--topic",
        topic,
        "--bootstrap",
        kafka_bootstrap,
        "--batch-size",
        "30",
    ]
    cwd = Path(__file__).parents[3]  # the repository root
    crashed = subprocess.run(
        [*command, "--die-before-checkpoint", "2"], cwd=cwd, timeout=120, check=False
    )
    assert crashed.returncode == -signal.SIGKILL
    checkpoint_after_crash = await relay_for(
        store.engine, schema, topic, kafka_bootstrap
    ).reader.checkpoint(topic)
    assert checkpoint_after_crash == 30  # the second batch was sent but never checkpointed

    resumed = subprocess.Popen(command, cwd=cwd)
    try:
        records = await read_topic(kafka_bootstrap, topic, expected=130, timeout=90)
    finally:
        resumed.send_signal(signal.SIGTERM)
        assert resumed.wait(timeout=30) == 0
    assert len(records) == 130  # 100 events, of which the 30 of the lost checkpoint twice
    assert_complete_and_in_order(records, streams, versions=10, duplicates_allowed=True)


@pytest.mark.slow
async def test_a_broker_outage_delays_events_but_loses_none(
    store: EventStore, engine: AsyncEngine, schema: str, tmp_path: Path
) -> None:
    from crm_devstack.kafka import KafkaBroker

    broker = KafkaBroker(tmp_path / "kafka")
    await asyncio.to_thread(broker.start)
    try:
        topic = f"crm.{schema}.events"
        await create_topics(broker.bootstrap_servers, topic)
        relay = relay_for(engine, schema, topic, broker.bootstrap_servers)
        stop = asyncio.Event()
        runner = asyncio.create_task(relay.run(stop))
        streams = [new_stream_id() for _ in range(20)]
        for stream in streams:
            await store.append(stream, 0, [contact_created(stream)], METADATA)

        await asyncio.to_thread(broker.stop)
        for stream in streams:  # written while the broker is down
            await store.append(stream, 1, [renamed(stream, "during outage")], METADATA)
        await asyncio.sleep(3)
        await asyncio.to_thread(broker.start)
        for stream in streams:
            await store.append(stream, 2, [renamed(stream, "after")], METADATA)

        head = await store.head_position()
        for _ in range(600):
            if relay.position == head:
                break
            await asyncio.sleep(0.1)
        stop.set()
        await runner
        await relay.close()
        assert relay.position == head
        records = await read_topic(broker.bootstrap_servers, topic, expected=60)
        assert_complete_and_in_order(records, streams, versions=3, duplicates_allowed=True)
    finally:
        await asyncio.to_thread(broker.stop)
