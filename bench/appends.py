"""(b) Event store appends: single-event commands from 32 writers, and batches of 100."""

from __future__ import annotations

import asyncio
import time
import uuid

from sqlalchemy.ext.asyncio import AsyncEngine

from crm_shared.eventstore import EventMetadata, EventStore, NewEvent

METADATA = EventMetadata(tenant_id="bench", actor="bench", correlation_id="bench")


def contact_event(stream: str, version: int) -> NewEvent:
    return NewEvent(
        event_type="crm.contacts.contact.updated",
        schema_version=1,
        data={"name": "Ada Lovelace", "email": "ada@example.com", "version": version},
        partition_key=stream,
        subject=stream,
    )


async def single_event_commands(
    engine: AsyncEngine, schema: str, writers: int, per_writer: int
) -> dict[str, float]:
    store = EventStore(engine, schema)
    latencies: list[float] = []

    async def writer() -> None:
        stream = f"contact-{uuid.uuid4()}"
        for version in range(per_writer):
            started = time.perf_counter()
            await store.append(stream, version, [contact_event(stream, version)], METADATA)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(writers)))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "writers": writers,
        "commands": writers * per_writer,
        "commands_per_s": writers * per_writer / elapsed,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
    }


async def batched_appends(
    engine: AsyncEngine, schema: str, writers: int, batches_per_writer: int, batch: int = 100
) -> dict[str, float]:
    store = EventStore(engine, schema)

    async def writer() -> None:
        stream = f"import-{uuid.uuid4()}"
        for index in range(batches_per_writer):
            version = index * batch
            events = [contact_event(stream, version + i) for i in range(batch)]
            await store.append(stream, version, events, METADATA)

    started = time.perf_counter()
    await asyncio.gather(*(writer() for _ in range(writers)))
    elapsed = time.perf_counter() - started
    total = writers * batches_per_writer * batch
    return {"writers": writers, "batch": batch, "events": total, "events_per_s": total / elapsed}
