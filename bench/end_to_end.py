"""(c) End to end: append, relay to Kafka, an idempotent consumer applies to a read model.

The relay and the consumer run in processes of their own, as they are deployed. Throughput:
writers append batches of 100 as fast as they can; the figure is events applied per second from
the first append to the last application. Latency: single-event commands at a fixed offered
rate; an event's latency runs from just before its append to its application.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
import uuid
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.appends import METADATA, contact_event
from bench.stats import percentile
from crm_devstack.cleanup import drop_run_data
from crm_shared.eventstore import EventStore, upgrade

ROOT = Path(__file__).parents[1]


class Pipeline:
    """A fresh schema and topic, with a relay process and a consumer process running."""

    def __init__(self, engine: AsyncEngine, database_url: str, bootstrap: str) -> None:
        self.engine = engine
        self.database_url = database_url
        self.bootstrap = bootstrap
        self.schema = f"bench_{uuid.uuid4().hex[:8]}"
        self.topic = f"crm.{self.schema}.events"
        self.store = EventStore(engine, self.schema)
        self._processes: list[subprocess.Popen[bytes]] = []

    async def __aenter__(self) -> Pipeline:
        await upgrade(self.database_url, self.schema)
        async with self.engine.begin() as connection:
            await connection.execute(
                text(
                    f"CREATE TABLE {self.schema}.contact_view "
                    "(customer text, name text, version int, latency_s float8, sent_at float8)"
                )
            )
        admin = AIOKafkaAdminClient(bootstrap_servers=self.bootstrap)
        await admin.start()
        await admin.create_topics([NewTopic(self.topic, 3, 1), NewTopic(f"{self.topic}.dlq", 1, 1)])
        await admin.close()
        for role in ("consumer", "relay"):
            self._processes.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "bench.pipeline_process",
                        role,
                        "--database-url",
                        self.database_url,
                        "--schema",
                        self.schema,
                        "--topic",
                        self.topic,
                        "--bootstrap",
                        self.bootstrap,
                    ],
                    cwd=ROOT,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        await asyncio.sleep(4)  # the consumer joins its group
        return self

    async def applied(self) -> int:
        async with self.engine.connect() as connection:
            return int(
                await connection.scalar(text(f"SELECT count(*) FROM {self.schema}.contact_view"))
                or 0
            )

    async def wait_applied(self, count: int, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while (applied := await self.applied()) < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f"applied {applied} of {count}")
            await asyncio.sleep(0.02)

    async def latencies(self, since: float = 0.0) -> list[float]:
        """Latencies of the events sent at or after ``since`` (a ``time.time()``)."""
        async with self.engine.connect() as connection:
            rows = await connection.scalars(
                text(f"SELECT latency_s FROM {self.schema}.contact_view WHERE sent_at >= :since"),
                {"since": since},
            )
            return list(rows)

    async def __aexit__(self, *exc: object) -> None:
        for process in self._processes:
            process.terminate()
        for process in self._processes:
            try:
                await asyncio.to_thread(process.wait, 30)
            except subprocess.TimeoutExpired:
                process.kill()
        # the schema and its topics (the schema's name is in theirs), once its processes are gone
        await drop_run_data(self.database_url, self.bootstrap, [self.schema])


async def throughput(
    engine: AsyncEngine, database_url: str, bootstrap: str, events: int, writers: int = 8
) -> dict[str, float]:
    async with Pipeline(engine, database_url, bootstrap) as pipeline:
        per_writer = max(events // writers // 100, 1)

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
    engine: AsyncEngine,
    database_url: str,
    bootstrap: str,
    rate: float,
    seconds: float,
    warm_up: float = 3.0,
) -> dict[str, float]:
    """Offer ``rate`` events/s for ``warm_up`` + ``seconds``; measure the last ``seconds``.

    The warm-up lets the fresh relay and consumer processes start, join and prepare their
    statements; its events flow through the pipeline but are left out of the figures.
    """
    async with Pipeline(engine, database_url, bootstrap) as pipeline:
        total = int(rate * (warm_up + seconds))
        warm_up_events = int(rate * warm_up)
        customers = [f"contact-{uuid.uuid4()}" for _ in range(500)]
        versions = dict.fromkeys(customers, 0)
        locks = {c: asyncio.Lock() for c in customers}
        in_flight: set[asyncio.Task[None]] = set()
        append_seconds: list[float] = []
        measuring_since = float("inf")

        async def command(customer: str) -> None:
            async with locks[customer]:
                version = versions[customer]
                event = contact_event(customer, version)
                event.data["sent_at"] = sent = time.time()
                await pipeline.store.append(customer, version, [event], METADATA)
                if sent >= measuring_since:
                    append_seconds.append(time.time() - sent)
                versions[customer] = version + 1

        started = time.perf_counter()
        for index in range(total):
            if index == warm_up_events:
                measuring_since = time.time()
                measured_from = time.perf_counter()
            delay = started + index / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(command(customers[index % len(customers)]))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)
        offered_for = time.perf_counter() - measured_from
        await asyncio.gather(*list(in_flight))
        await pipeline.wait_applied(total)
        latencies = await pipeline.latencies(since=measuring_since)
    measured = total - warm_up_events
    return {
        "offered_events_per_s": rate,
        "achieved_offered_events_per_s": measured / offered_for,
        "events": measured,
        "warm_up_events": warm_up_events,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "max_ms": max(latencies) * 1000,
        "append_p50_ms": percentile(append_seconds, 50) * 1000,
        "append_p99_ms": percentile(append_seconds, 99) * 1000,
    }
