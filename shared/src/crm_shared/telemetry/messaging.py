"""Spans for messages crossing Kafka, after the current OpenTelemetry messaging conventions.

Semantic conventions 1.26 and later (``opentelemetry-semantic-conventions`` 0.47b0+):

- a PRODUCER span ``send <topic>`` with ``messaging.operation.type=send`` (the older
  ``publish`` value is deprecated, "replaced by send"), around handing a message to Kafka;
- a CONSUMER span ``process <topic>`` with ``messaging.operation.type=process``, around
  applying it, a child of the context the message's headers carry;
- attributes ``messaging.system=kafka``, ``messaging.operation.name``,
  ``messaging.destination.name``, ``messaging.destination.partition.id``,
  ``messaging.consumer.group.name``, ``messaging.kafka.message.key``,
  ``messaging.kafka.offset``, ``messaging.message.id`` and, for batches,
  ``messaging.batch.message_count``.

These helpers know nothing of our events; ``kafka_spans`` applies them to the relay's and the
consumers' records.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Final
from weakref import WeakKeyDictionary

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Link, Span, SpanKind, Tracer, TracerProvider
from opentelemetry.util.types import AttributeValue

from crm_shared.telemetry.tracing import TraceHeaders, context_from_headers, current_trace_headers

SYSTEM: Final = "messaging.system"
OPERATION_TYPE: Final = "messaging.operation.type"
OPERATION_NAME: Final = "messaging.operation.name"
DESTINATION: Final = "messaging.destination.name"
PARTITION: Final = "messaging.destination.partition.id"
CONSUMER_GROUP: Final = "messaging.consumer.group.name"
MESSAGE_KEY: Final = "messaging.kafka.message.key"
OFFSET: Final = "messaging.kafka.offset"
MESSAGE_ID: Final = "messaging.message.id"
BATCH_COUNT: Final = "messaging.batch.message_count"

SEND: Final = "send"
PROCESS: Final = "process"

_TRACER = "crm_shared.messaging"
_W3C = frozenset({"traceparent", "tracestate"})
_TRACERS: WeakKeyDictionary[TracerProvider, Tracer] = WeakKeyDictionary()


def _tracer(provider: TracerProvider | None) -> Tracer:
    """The messaging tracer of ``provider`` (the global one when ``None``), made once: the
    SDK builds a new tracer on every ``get_tracer``, a twentieth of a consumer's time per
    event when asked for each."""
    provider = provider or trace.get_tracer_provider()
    tracer = _TRACERS.get(provider)
    if tracer is None:
        tracer = _TRACERS[provider] = provider.get_tracer(_TRACER)
    return tracer


@contextmanager
def producer_span(
    topic: str,
    *,
    key: str | None = None,
    message_id: str | None = None,
    partition: int | None = None,
    parent: Context | None = None,
    attributes: Mapping[str, AttributeValue] | None = None,
    tracer_provider: TracerProvider | None = None,
) -> Iterator[Span]:
    """A PRODUCER span ``send <topic>``, current inside the block.

    ``parent``: the context to continue (e.g. the one stored with an event); the current one
    when ``None``. Inside the block, ``current_trace_headers()`` or ``with_trace_headers()``
    give the headers that make the consumer's span its child.
    """
    values = _common(topic, SEND, partition=partition, key=key, message_id=message_id)
    values.update(attributes or {})
    tracer = _tracer(tracer_provider)
    with tracer.start_as_current_span(
        f"{SEND} {topic}", context=parent, kind=SpanKind.PRODUCER, attributes=values
    ) as span:
        yield span


@contextmanager
def consumer_span(
    topic: str,
    group: str,
    headers: TraceHeaders | None = None,
    *,
    partition: int | None = None,
    offset: int | None = None,
    key: str | None = None,
    message_id: str | None = None,
    batch_size: int | None = None,
    links: Sequence[Link] = (),
    attributes: Mapping[str, AttributeValue] | None = None,
    tracer_provider: TracerProvider | None = None,
) -> Iterator[Span]:
    """A CONSUMER span ``process <topic>``, current inside the block.

    With ``headers`` (the record's), it is a child of the context they carry, i.e. of the span
    that sent the message; without, of the current context (a batch: pass ``links`` to each
    message's context instead, see ``link_to``).
    """
    values = _common(topic, PROCESS, partition=partition, key=key, message_id=message_id)
    values[CONSUMER_GROUP] = group
    if offset is not None:
        values[OFFSET] = offset
    if batch_size is not None:
        values[BATCH_COUNT] = batch_size
    values.update(attributes or {})
    parent = context_from_headers(headers) if headers is not None else None
    tracer = _tracer(tracer_provider)
    with tracer.start_as_current_span(
        f"{PROCESS} {topic}",
        context=parent,
        kind=SpanKind.CONSUMER,
        attributes=values,
        links=links,
    ) as span:
        yield span


def link_to(headers: TraceHeaders) -> Link | None:
    """A link to the span the headers' context names (for a span processing a batch)."""
    span_context = trace.get_current_span(context_from_headers(headers)).get_span_context()
    return Link(span_context) if span_context.is_valid else None


def with_trace_headers(headers: Sequence[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """Kafka record headers with their trace context replaced by the current one."""
    kept = [(name, value) for name, value in headers if name not in _W3C]
    current = current_trace_headers()
    kept.extend((name, current[name].encode()) for name in sorted(_W3C) if name in current)
    return kept


def _common(
    topic: str,
    operation: str,
    *,
    partition: int | None,
    key: str | None,
    message_id: str | None,
) -> dict[str, AttributeValue]:
    values: dict[str, AttributeValue] = {
        SYSTEM: "kafka",
        OPERATION_TYPE: operation,
        OPERATION_NAME: operation,
        DESTINATION: topic,
    }
    if partition is not None:
        values[PARTITION] = str(partition)
    if key is not None:
        values[MESSAGE_KEY] = key
    if message_id is not None:
        values[MESSAGE_ID] = message_id
    return values
