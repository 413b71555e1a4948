"""Prometheus metrics of HTTP requests, labelled by route template, never the raw path.

``http_requests_total{method, route, status}`` and
``http_request_duration_seconds{method, route}``, where ``route`` is the template the request
matched (``/contacts/{contact_id}``), or ``unmatched``: a label per contact id would create a
time series per contact. The Prometheus scrape itself (``/metrics``) is not counted.

The middleware is plain ASGI (no ``BaseHTTPMiddleware``): streamed responses pass through
untouched, the duration runs until the last byte is sent, and a request that ends in an
unhandled exception counts as a 500.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from crm_shared.telemetry.registry import families_on

UNMATCHED = "unmatched"
_NOT_COUNTED = frozenset({"/metrics"})
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


@dataclass(frozen=True)
class HttpMetrics:
    requests: Counter
    duration: Histogram

    @classmethod
    def on(cls, registry: CollectorRegistry) -> HttpMetrics:
        """The HTTP metric families of ``registry`` (created on first use)."""
        return families_on(registry, _http_families)


def _http_families(registry: CollectorRegistry) -> HttpMetrics:
    return HttpMetrics(
        requests=Counter(
            "http_requests",
            "HTTP requests answered, by route template and status",
            ["method", "route", "status"],
            registry=registry,
        ),
        duration=Histogram(
            "http_request_duration_seconds",
            "Time from receiving an HTTP request to sending the end of its response",
            ["method", "route"],
            registry=registry,
            buckets=_BUCKETS,
        ),
    )


def route_template(scope: Scope) -> str:
    """The path template of the route that handled the request (set by the router)."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return f"{scope.get('root_path', '')}{template}" if template else UNMATCHED


class HttpMetricsMiddleware:
    """Counts and times every HTTP request by method, route template and status."""

    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics
        # The labelled series of each (method, route, status) seen: looking them up through
        # ``labels`` (a lock, checks, a tuple) on every request cost more than recording.
        self._series: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            self._record(scope, status, time.perf_counter() - started)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        route = route_template(scope)
        if route in _NOT_COUNTED:
            return
        key = (scope["method"], route, status)
        series = self._series.get(key)
        if series is None:
            method = key[0]
            series = self._series[key] = (
                self.metrics.requests.labels(method=method, route=route, status=str(status)),
                self.metrics.duration.labels(method=method, route=route),
            )
        series[0].inc()
        series[1].observe(seconds)
