"""Spans for events crossing Kafka, after the current OpenTelemetry messaging conventions.

The relay's ``publish`` span is a child of the request that appended the event (its
``traceparent`` is stored with the event); the consumer's ``process`` span is a child of the
publish span, whose context travels in the record's ``traceparent`` header. One trace thus
runs from the HTTP request to every consumer that reacts to it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry import propagate, trace
from opentelemetry.trace import Link, SpanKind

from crm_shared.events.envelope import EventEnvelope
from crm_shared.events.kafka_binding import KafkaRecord
from crm_shared.eventstore.model import RecordedEvent

_TRACER = "crm_shared.kafka"
_W3C = ("traceparent", "tracestate")


def _carrier(pairs: Sequence[tuple[str, bytes]] | None) -> dict[str, str]:
    return {k: v.decode() for k, v in pairs or () if k in _W3C}


@contextmanager
def start_publish_span(
    topic: str, event: RecordedEvent, record: KafkaRecord
) -> Iterator[list[tuple[str, bytes]]]:
    """A PRODUCER span for one event; yields the record's headers carrying its context.

    An event appended outside any trace has no trace to continue: it gets no span, and the
    relay's hottest loop stays cheap.
    """
    if not event.metadata.traceparent:
        yield record.headers
        return
    stored = {
        k: v
        for k, v in (
            ("traceparent", event.metadata.traceparent),
            ("tracestate", event.metadata.tracestate),
        )
        if v
    }
    parent = propagate.extract(stored)
    tracer = trace.get_tracer(_TRACER)
    with tracer.start_as_current_span(
        f"send {topic}",
        context=parent,
        kind=SpanKind.PRODUCER,
        attributes={
            "messaging.system": "kafka",
            "messaging.operation.type": "send",
            "messaging.operation.name": "send",
            "messaging.destination.name": topic,
            "messaging.message.id": str(event.event_id),
            "messaging.kafka.message.key": event.partition_key,
            "cloudevents.event_id": str(event.event_id),
            "cloudevents.event_type": event.event_type,
        },
    ):
        carrier: dict[str, str] = {}
        propagate.inject(carrier)
        headers = [(k, v) for k, v in record.headers if k not in _W3C]
        headers.extend((k, v.encode()) for k, v in carrier.items())
        yield headers


def _process_attributes(record: Any, group_id: str) -> dict[str, Any]:
    return {
        "messaging.system": "kafka",
        "messaging.operation.type": "process",
        "messaging.operation.name": "process",
        "messaging.destination.name": record.topic,
        "messaging.consumer.group.name": group_id,
        "messaging.destination.partition.id": str(record.partition),
        "messaging.kafka.offset": record.offset,
    }


@contextmanager
def start_process_span(record: Any, envelope: EventEnvelope, group_id: str) -> Iterator[None]:
    """A CONSUMER span for applying one event, a child of the span that published it."""
    parent = propagate.extract(_carrier(record.headers))
    attributes = _process_attributes(record, group_id)
    attributes.update(
        {
            "messaging.message.id": envelope.id,
            "messaging.kafka.message.key": envelope.partitionkey,
            "cloudevents.event_id": envelope.id,
            "cloudevents.event_type": envelope.type,
        }
    )
    tracer = trace.get_tracer(_TRACER)
    with tracer.start_as_current_span(
        f"process {record.topic}", context=parent, kind=SpanKind.CONSUMER, attributes=attributes
    ):
        yield


@contextmanager
def start_batch_process_span(
    batch: Sequence[tuple[Any, EventEnvelope]], group_id: str
) -> Iterator[None]:
    """One CONSUMER span for a batch applied at once, linked to each event's publish span."""
    links = []
    for record, _ in batch:
        context = trace.get_current_span(propagate.extract(_carrier(record.headers)))
        span_context = context.get_span_context()
        if span_context.is_valid:
            links.append(Link(span_context))
    first = batch[0][0]
    attributes = _process_attributes(first, group_id)
    attributes["messaging.batch.message_count"] = len(batch)
    tracer = trace.get_tracer(_TRACER)
    with tracer.start_as_current_span(
        f"process {first.topic}", kind=SpanKind.CONSUMER, attributes=attributes, links=links
    ):
        yield
