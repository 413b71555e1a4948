"""Tracer providers are set up without side effects, and trace context travels as headers."""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from crm_shared.telemetry import (
    configure_tracing,
    context_from_headers,
    current_trace_context,
    current_trace_headers,
    otlp_traces_url,
)


def test_a_provider_made_for_a_test_does_not_become_global() -> None:
    before = trace.get_tracer_provider()
    provider = configure_tracing("svc", exporter=InMemorySpanExporter(), set_global=False)
    assert trace.get_tracer_provider() is before
    assert provider.resource.attributes["service.name"] == "svc"


def test_without_an_endpoint_nor_an_exporter_nothing_is_exported() -> None:
    provider = configure_tracing("svc", None, set_global=False)
    processors = provider._active_span_processor._span_processors
    assert processors == ()


def test_without_an_endpoint_spans_are_not_recorded_but_the_trace_context_still_travels() -> None:
    provider = configure_tracing("svc", None, set_global=False)
    incoming = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    parent = context_from_headers({"traceparent": incoming})
    with provider.get_tracer("t").start_as_current_span("request", context=parent) as span:
        assert not span.is_recording()
        sent = current_trace_headers()["traceparent"]
    assert sent.split("-")[1] == "0af7651916cd43dd8448eb211c80319c"


def test_with_an_exporter_spans_are_recorded() -> None:
    provider = configure_tracing("svc", exporter=InMemorySpanExporter(), set_global=False)
    with provider.get_tracer("t").start_as_current_span("request") as span:
        assert span.is_recording()


def test_an_otlp_endpoint_gets_spans_in_batches() -> None:
    provider = configure_tracing("svc", "http://collector:4318", set_global=False)
    [processor] = provider._active_span_processor._span_processors
    assert type(processor).__name__ == "BatchSpanProcessor"
    provider.shutdown()


def test_the_otlp_endpoint_is_a_base_url_as_opentelemetry_defines_it() -> None:
    assert otlp_traces_url("http://collector:4318") == "http://collector:4318/v1/traces"
    assert otlp_traces_url("http://collector:4318/") == "http://collector:4318/v1/traces"
    assert otlp_traces_url("http://c:4318/v1/traces") == "http://c:4318/v1/traces"


def test_outside_any_span_there_are_no_trace_headers() -> None:
    assert current_trace_headers() == {}
    assert current_trace_context() == (None, None)


def test_the_headers_written_in_a_span_name_that_span(provider: TracerProvider) -> None:
    with provider.get_tracer("test").start_as_current_span("request") as span:
        headers = current_trace_headers()
        traceparent, _ = current_trace_context()
    context = span.get_span_context()
    assert headers["traceparent"] == traceparent
    assert headers["traceparent"].startswith(f"00-{context.trace_id:032x}-{context.span_id:016x}-")


def test_kafka_headers_and_http_headers_give_the_same_context(provider: TracerProvider) -> None:
    with provider.get_tracer("test").start_as_current_span("request") as span:
        traceparent = current_trace_headers()["traceparent"]
    from_kafka = context_from_headers([("ce_id", b"e-1"), ("traceparent", traceparent.encode())])
    from_http = context_from_headers({"Traceparent": traceparent})
    for context in (from_kafka, from_http):
        extracted = trace.get_current_span(context).get_span_context()
        assert extracted.trace_id == span.get_span_context().trace_id
        assert extracted.span_id == span.get_span_context().span_id
        assert extracted.is_remote


def test_headers_without_trace_context_give_no_parent() -> None:
    context = context_from_headers([("ce_id", b"e-1"), ("traceparent", None)])
    assert not trace.get_current_span(context).get_span_context().is_valid
