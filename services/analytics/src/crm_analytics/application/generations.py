"""Generations of the read models: the live one serves and is fed by the service's consumer; a
rebuild fills a new one from offset zero beside it (its own schema, its own consumer group),
shows its progress, and when it has caught up the two are swapped. The replicas notice the
swap, read the new schema and feed it from where the rebuild stopped (the same group)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_analytics.adapters import generations
from crm_analytics.adapters.generations import Generation
from crm_analytics.adapters.kafka_lag import group_lag
from crm_analytics.application.projector import projector
from crm_shared.consumer import ConsumerConfig, IdempotentConsumer, consumer_broker
from crm_shared.eventstore import upgrade
from crm_shared.sql import sql
from crm_shared.telemetry import ConsumerMetrics

log = logging.getLogger(__name__)


class LiveGeneration:
    """The schema the queries read: the live generation's, looked up every few seconds."""

    def __init__(self, schema: str) -> None:
        self.schema = schema

    async def follow(
        self, engine: AsyncEngine, control: str, stop: asyncio.Event, every_s: float
    ) -> None:
        while not stop.is_set():
            try:
                async with engine.connect() as connection:
                    found = await generations.live(connection, control)
                if found is not None:
                    self.schema = found.schema
            except Exception:
                log.exception("looking up the live generation failed; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every_s)


@dataclass
class _Running:
    generation: int
    consumer: IdempotentConsumer
    stop: Callable[[], Any]


async def feed_live_generation(
    engine: AsyncEngine,
    bootstrap: str,
    control: str,
    topics: Sequence[str],
    registry: CollectorRegistry,
    stop: asyncio.Event,
    every_s: float,
    live: LiveGeneration,
) -> None:
    """Run the consumer of whichever generation is live, switching when a rebuild swaps; the
    queries follow the same look (``live``), so a replica reads what it feeds."""
    running: _Running | None = None
    try:
        while not stop.is_set():
            try:
                async with engine.connect() as connection:
                    found = await generations.live(connection, control)
                if found is not None:
                    live.schema = found.schema
                if found is not None and (
                    running is None or running.generation != found.generation
                ):
                    if running is not None:
                        await running.stop()
                        running = None
                    running = await _start(engine, bootstrap, found, topics, registry)
                    log.info("feeding read-model generation %s", found.generation)
            except Exception:
                log.exception("following the live generation failed; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every_s)
    finally:
        if running is not None:
            await running.stop()


async def _start(
    engine: AsyncEngine,
    bootstrap: str,
    generation: Generation,
    topics: Sequence[str],
    registry: CollectorRegistry | None,
) -> _Running:
    consumer = IdempotentConsumer(
        engine,
        ConsumerConfig(generation.consumer_group, list(topics), generation.schema, bootstrap),
        projector(generation.schema),
        ConsumerMetrics(registry, group=generation.consumer_group) if registry else None,
    )
    broker = consumer_broker(bootstrap, [consumer], graceful_timeout=20)
    await broker.start()

    async def stop() -> None:
        await broker.stop()
        await consumer.close()

    return _Running(generation.generation, consumer, stop)


@dataclass(frozen=True)
class Progress:
    generation: int
    applied: int
    events_per_s: float
    lag: int
    elapsed_s: float


async def rebuild(
    engine: AsyncEngine,
    database_url: str,
    bootstrap: str,
    control: str,
    base_group: str,
    topics: Sequence[str],
    migrations: Sequence[Any],
    swap: bool = True,
    report: Callable[[Progress], None] = lambda _: None,
    every_s: float = 2.0,
) -> Generation:
    """Build a new generation from offset zero while the live one serves; swap it in once it
    has read every topic to the end (``swap``), and return it."""
    async with engine.begin() as connection:
        made = await generations.start_building(connection, control, base_group)
    await upgrade(database_url, made.schema, migrations)
    running = await _start(engine, bootstrap, made, topics, None)
    started = time.monotonic()
    try:
        while True:
            await asyncio.sleep(every_s)
            progress = await _progress(engine, bootstrap, control, made, topics, started)
            report(progress)
            if progress.lag == 0:
                break
    finally:
        await running.stop()
    if swap:
        async with engine.begin() as connection:
            await generations.swap(connection, control, made.generation)
    return made


async def _progress(
    engine: AsyncEngine,
    bootstrap: str,
    control: str,
    made: Generation,
    topics: Sequence[str],
    started: float,
) -> Progress:
    async with engine.connect() as connection:
        applied = int(
            await connection.scalar(
                sql(
                    f'SELECT count(*) FROM "{made.schema}".processed_events WHERE consumer = :group'
                ),
                {"group": made.consumer_group},
            )
        )
    lag = await group_lag(bootstrap, made.consumer_group, topics)
    elapsed = time.monotonic() - started
    rate = applied / elapsed if elapsed > 0 else 0.0
    async with engine.begin() as connection:
        await generations.record_progress(connection, control, made.generation, applied, rate, lag)
    return Progress(made.generation, applied, rate, lag, elapsed)
