"""Observability: OpenTelemetry traces, Prometheus metrics, structured JSON logs.

``kafka_spans`` (the messaging spans applied to our events) is imported from its module: it
depends on the event contracts, which this package otherwise does not need.
"""

from crm_shared.telemetry.http_metrics import HttpMetrics, HttpMetricsMiddleware, route_template
from crm_shared.telemetry.logging import (
    LogFormat,
    TraceContextFilter,
    configure_logging,
    console_formatter,
    json_formatter,
)
from crm_shared.telemetry.messaging import consumer_span, link_to, producer_span, with_trace_headers
from crm_shared.telemetry.pipeline_metrics import ConsumerMetrics, RelayMetrics
from crm_shared.telemetry.tracing import (
    TraceHeaders,
    configure_tracing,
    context_from_headers,
    current_trace_context,
    current_trace_headers,
    instrument_fastapi,
    otlp_traces_url,
)

__all__ = [
    "ConsumerMetrics",
    "HttpMetrics",
    "HttpMetricsMiddleware",
    "LogFormat",
    "RelayMetrics",
    "TraceContextFilter",
    "TraceHeaders",
    "configure_logging",
    "configure_tracing",
    "console_formatter",
    "consumer_span",
    "context_from_headers",
    "current_trace_context",
    "current_trace_headers",
    "instrument_fastapi",
    "json_formatter",
    "link_to",
    "otlp_traces_url",
    "producer_span",
    "route_template",
    "with_trace_headers",
]
