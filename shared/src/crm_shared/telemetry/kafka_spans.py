"""The messaging spans (``messaging``) applied to our events, for the relay and the consumers.

The relay's ``send`` span is a child of the request that appended the event (its
``traceparent`` is stored with the event); the consumer's ``process`` span is a child of the
send span, whose context travels in the record's ``traceparent`` header. One trace thus
runs from the HTTP request to every consumer that reacts to it.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from crm_shared.events.envelope import EventEnvelope
from crm_shared.events.kafka_binding import KafkaRecord
from crm_shared.eventstore.model import RecordedEvent
from crm_shared.telemetry.messaging import (
    consumer_span,
    link_to,
    producer_span,
    with_trace_headers,
)
from crm_shared.telemetry.tracing import context_from_headers


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
    stored = {"traceparent": event.metadata.traceparent}
    if event.metadata.tracestate:
        stored["tracestate"] = event.metadata.tracestate
    with producer_span(
        topic,
        key=event.partition_key,
        message_id=str(event.event_id),
        parent=context_from_headers(stored),
        attributes={
            "cloudevents.event_id": str(event.event_id),
            "cloudevents.event_type": event.event_type,
        },
    ):
        yield with_trace_headers(record.headers)


@contextmanager
def start_process_span(record: Any, envelope: EventEnvelope, group_id: str) -> Iterator[None]:
    """A CONSUMER span for applying one event, a child of the span that published it.

    ``record``: the Kafka record as the client gives it (``topic``, ``partition``, ``offset``,
    ``headers``).
    """
    with consumer_span(
        record.topic,
        group_id,
        record.headers or (),
        partition=record.partition,
        offset=record.offset,
        key=envelope.partitionkey,
        message_id=envelope.id,
        attributes={"cloudevents.event_id": envelope.id, "cloudevents.event_type": envelope.type},
    ):
        yield


@contextmanager
def start_batch_process_span(
    batch: Sequence[tuple[Any, EventEnvelope]], group_id: str
) -> Iterator[None]:
    """One CONSUMER span for a batch applied at once, linked to each event's publish span."""
    links = [link for record, _ in batch if (link := link_to(record.headers or ())) is not None]
    records = [record for record, _ in batch]
    partitions = {record.partition for record in records}
    with consumer_span(
        records[0].topic,
        group_id,
        partition=partitions.pop() if len(partitions) == 1 else None,
        batch_size=len(batch),
        links=links,
    ):
        yield
