"""One trace runs from the HTTP request through Kafka into the consumer that reacts to it."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client import CollectorRegistry
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_shared.consumer import ConsumerConfig, IdempotentConsumer, consumer_broker
from crm_shared.eventstore import EventMetadata, EventStore
from crm_shared.http import create_service_app
from crm_shared.relay import OutboxRelay, RelayConfig
from crm_shared.telemetry import current_trace_context

from .helpers import contact_created, create_topics
from .read_model import applications, applier, create_table

pytestmark = pytest.mark.integration


class NewContact(BaseModel):
    name: str


async def test_a_request_its_publication_and_its_processing_share_one_trace(
    global_spans: InMemorySpanExporter,
    engine: AsyncEngine,
    store: EventStore,
    schema: str,
    kafka_bootstrap: str,
    unique_name: str,
) -> None:
    topic = f"crm.{unique_name}.events"
    await create_topics(kafka_bootstrap, topic, f"{topic}.dlq")
    await create_table(engine, schema)
    app = create_service_app("contacts", "1", CollectorRegistry())

    @app.post("/contacts", status_code=201)
    async def create(contact: NewContact) -> dict[str, str]:
        contact_id = f"contact-{uuid.uuid4()}"
        traceparent, tracestate = current_trace_context()
        metadata = EventMetadata(
            tenant_id="tenant-1",
            actor="user-1",
            correlation_id=str(uuid.uuid4()),
            traceparent=traceparent,
            tracestate=tracestate,
        )
        await store.append(
            contact_id, 0, [contact_created(contact_id, name=contact.name)], metadata
        )
        return {"id": contact_id}

    relay = OutboxRelay(
        engine,
        RelayConfig(
            schema=schema, topic=topic, source="/crm/contacts", bootstrap_servers=kafka_bootstrap
        ),
    )
    consumer = IdempotentConsumer(
        engine,
        ConsumerConfig(
            group_id=unique_name, topics=[topic], schema=schema, bootstrap_servers=kafka_bootstrap
        ),
        applier(schema),
    )
    broker = consumer_broker(kafka_bootstrap, [consumer], graceful_timeout=5)
    await broker.start()
    stop = asyncio.Event()
    relaying = asyncio.create_task(relay.run(stop))
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as http:
            response = await http.post("/contacts", json={"name": "Ada"})
        assert response.status_code == 201
        for _ in range(300):
            if await applications(engine, schema):
                break
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await relaying
        await relay.close()
        await broker.stop()
        await consumer.close()

    finished = global_spans.get_finished_spans()
    server = only(finished, lambda s: s.kind == SpanKind.SERVER and "/contacts" in s.name)
    send = only(finished, lambda s: s.name == f"send {topic}")
    process = only(finished, lambda s: s.name == f"process {topic}")

    assert send.context.trace_id == server.context.trace_id == process.context.trace_id
    assert send.parent is not None
    assert send.parent.span_id == server.context.span_id
    assert process.parent is not None
    assert process.parent.span_id == send.context.span_id

    assert send.kind == SpanKind.PRODUCER
    assert process.kind == SpanKind.CONSUMER
    attributes = dict(process.attributes or {})
    assert attributes["messaging.system"] == "kafka"
    assert attributes["messaging.operation.type"] == "process"
    assert attributes["messaging.destination.name"] == topic
    assert attributes["messaging.consumer.group.name"] == unique_name
    assert dict(send.attributes or {})["messaging.operation.type"] == "send"


def only(spans: tuple[ReadableSpan, ...], match: object) -> ReadableSpan:
    found = [s for s in spans if match(s)]  # type: ignore[operator]
    assert len(found) == 1, [s.name for s in spans]
    return found[0]
