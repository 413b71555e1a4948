"""Observability: OpenTelemetry traces, Prometheus metrics, structured JSON logs."""

from crm_shared.telemetry.logging import configure_logging
from crm_shared.telemetry.pipeline_metrics import ConsumerMetrics, RelayMetrics
from crm_shared.telemetry.tracing import (
    configure_tracing,
    current_trace_context,
    instrument_fastapi,
)

__all__ = [
    "ConsumerMetrics",
    "RelayMetrics",
    "configure_logging",
    "configure_tracing",
    "current_trace_context",
    "instrument_fastapi",
]
