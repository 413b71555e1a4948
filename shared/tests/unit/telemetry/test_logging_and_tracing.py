"""Logs carry the trace they were written in; trace context travels as W3C headers."""

from __future__ import annotations

import io
import json
import logging

from opentelemetry import propagate, trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from crm_shared.telemetry.logging import TraceContextFilter, json_formatter
from crm_shared.telemetry.tracing import current_trace_context


def tracer() -> tuple[trace.Tracer, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider.get_tracer("test"), exporter


def json_logger() -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(json_formatter())
    handler.addFilter(TraceContextFilter("contacts"))
    logger = logging.getLogger(f"test.{id(stream)}")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger, stream


def test_a_json_log_line_carries_the_active_trace_and_span() -> None:
    test_tracer, _ = tracer()
    logger, stream = json_logger()
    with test_tracer.start_as_current_span("request") as span:
        logger.info("contact created", extra={"contact_id": "c-1"})
    line = json.loads(stream.getvalue())
    context = span.get_span_context()
    assert line["trace_id"] == format(context.trace_id, "032x")
    assert line["span_id"] == format(context.span_id, "016x")
    assert line["message"] == "contact created"
    assert line["level"] == "INFO"
    assert line["service"] == "contacts"
    assert line["contact_id"] == "c-1"


def test_outside_a_span_a_log_line_has_no_trace_id() -> None:
    logger, stream = json_logger()
    logger.warning("idle")
    assert "trace_id" not in json.loads(stream.getvalue())


def test_the_stored_trace_context_continues_the_trace_elsewhere() -> None:
    test_tracer, exporter = tracer()
    with test_tracer.start_as_current_span("request") as request:
        traceparent, _ = current_trace_context()
    assert traceparent is not None
    parent = propagate.extract({"traceparent": traceparent})
    with test_tracer.start_as_current_span("later", context=parent):
        pass
    later = next(s for s in exporter.get_finished_spans() if s.name == "later")
    assert later.context.trace_id == request.get_span_context().trace_id
    assert later.parent is not None
    assert later.parent.span_id == request.get_span_context().span_id
