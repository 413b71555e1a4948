"""Kafka spans follow the current OpenTelemetry messaging conventions."""

from __future__ import annotations

from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.semconv._incubating.attributes import messaging_attributes as semconv
from opentelemetry.trace import SpanKind

from crm_shared.telemetry import (
    consumer_span,
    current_trace_headers,
    link_to,
    producer_span,
    with_trace_headers,
)

TOPIC = "crm.contacts.events"


def finished(spans: InMemorySpanExporter, name: str) -> ReadableSpan:
    [span] = [s for s in spans.get_finished_spans() if s.name == name]
    return span


def test_a_producer_span_is_a_send_with_the_current_attributes(
    provider: TracerProvider, spans: InMemorySpanExporter
) -> None:
    with producer_span(
        TOPIC, key="contact-1", message_id="event-1", partition=2, tracer_provider=provider
    ):
        pass
    span = finished(spans, f"send {TOPIC}")
    assert span.kind == SpanKind.PRODUCER
    assert dict(span.attributes or {}) == {
        semconv.MESSAGING_SYSTEM: semconv.MessagingSystemValues.KAFKA.value,
        semconv.MESSAGING_OPERATION_TYPE: semconv.MessagingOperationTypeValues.SEND.value,
        semconv.MESSAGING_OPERATION_NAME: "send",
        semconv.MESSAGING_DESTINATION_NAME: TOPIC,
        semconv.MESSAGING_DESTINATION_PARTITION_ID: "2",
        semconv.MESSAGING_KAFKA_MESSAGE_KEY: "contact-1",
        semconv.MESSAGING_MESSAGE_ID: "event-1",
    }


def test_a_consumer_span_is_a_process_with_the_current_attributes(
    provider: TracerProvider, spans: InMemorySpanExporter
) -> None:
    with consumer_span(
        TOPIC,
        "analytics",
        [],
        partition=2,
        offset=41,
        key="contact-1",
        message_id="event-1",
        tracer_provider=provider,
    ):
        pass
    span = finished(spans, f"process {TOPIC}")
    assert span.kind == SpanKind.CONSUMER
    assert dict(span.attributes or {}) == {
        semconv.MESSAGING_SYSTEM: "kafka",
        semconv.MESSAGING_OPERATION_TYPE: semconv.MessagingOperationTypeValues.PROCESS.value,
        semconv.MESSAGING_OPERATION_NAME: "process",
        semconv.MESSAGING_DESTINATION_NAME: TOPIC,
        semconv.MESSAGING_DESTINATION_PARTITION_ID: "2",
        semconv.MESSAGING_CONSUMER_GROUP_NAME: "analytics",
        semconv.MESSAGING_KAFKA_OFFSET: 41,
        semconv.MESSAGING_KAFKA_MESSAGE_KEY: "contact-1",
        semconv.MESSAGING_MESSAGE_ID: "event-1",
    }


def test_no_deprecated_messaging_attribute_or_value_is_used(
    provider: TracerProvider, spans: InMemorySpanExporter
) -> None:
    with producer_span(TOPIC, key="k", message_id="m", partition=0, tracer_provider=provider):
        pass
    with consumer_span(TOPIC, "g", [], partition=0, offset=0, tracer_provider=provider):
        pass
    deprecated = {
        semconv.MESSAGING_OPERATION,
        semconv.MESSAGING_KAFKA_CONSUMER_GROUP,
        semconv.MESSAGING_KAFKA_DESTINATION_PARTITION,
        semconv.MESSAGING_KAFKA_MESSAGE_OFFSET,
    }
    for span in spans.get_finished_spans():
        attributes = dict(span.attributes or {})
        assert not deprecated & set(attributes)
        assert attributes[semconv.MESSAGING_OPERATION_TYPE] not in {"publish", "deliver"}


def test_the_consumer_span_continues_the_producer_span_from_the_record_headers(
    provider: TracerProvider, spans: InMemorySpanExporter
) -> None:
    with producer_span(TOPIC, tracer_provider=provider):
        headers = with_trace_headers([("ce_id", b"event-1"), ("traceparent", b"stale")])
    with consumer_span(TOPIC, "analytics", headers, tracer_provider=provider):
        pass
    send, process = finished(spans, f"send {TOPIC}"), finished(spans, f"process {TOPIC}")
    assert [name for name, _ in headers] == ["ce_id", "traceparent"]
    assert process.context.trace_id == send.context.trace_id
    assert process.parent is not None
    assert process.parent.span_id == send.context.span_id


def test_a_producer_span_continues_the_context_stored_with_an_event(
    provider: TracerProvider, spans: InMemorySpanExporter
) -> None:
    with provider.get_tracer("test").start_as_current_span("request") as request:
        stored = current_trace_headers()
    from crm_shared.telemetry import context_from_headers

    with producer_span(TOPIC, parent=context_from_headers(stored), tracer_provider=provider):
        pass
    send = finished(spans, f"send {TOPIC}")
    assert send.parent is not None
    assert send.parent.span_id == request.get_span_context().span_id


def test_a_batch_span_links_to_each_message_it_processes(
    provider: TracerProvider, spans: InMemorySpanExporter
) -> None:
    records = []
    for n in range(3):
        with producer_span(TOPIC, message_id=f"event-{n}", tracer_provider=provider):
            records.append(with_trace_headers([]))
    links = [link for headers in records if (link := link_to(headers))]
    with consumer_span(TOPIC, "analytics", batch_size=3, links=links, tracer_provider=provider):
        pass
    process = finished(spans, f"process {TOPIC}")
    sends = {s.context.span_id for s in spans.get_finished_spans() if s.name.startswith("send")}
    assert {link.context.span_id for link in process.links} == sends
    assert dict(process.attributes or {})[semconv.MESSAGING_BATCH_MESSAGE_COUNT] == 3
    assert link_to([]) is None
