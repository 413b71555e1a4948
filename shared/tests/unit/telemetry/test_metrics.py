"""Metrics have Prometheus names, live on the registry given, and label by route template."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest
from prometheus_client import CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from crm_shared.telemetry import ConsumerMetrics, HttpMetrics, HttpMetricsMiddleware, RelayMetrics


def test_relay_metrics_are_labelled_by_service_and_topic() -> None:
    registry = CollectorRegistry()
    metrics = RelayMetrics(registry, service="contacts", topic="crm.contacts.events")
    metrics.published.inc(3)
    metrics.publish_errors.inc()
    metrics.backlog.set(7)
    metrics.position.set(42)
    labels = {"service": "contacts", "topic": "crm.contacts.events"}
    assert registry.get_sample_value("crm_relay_published_events_total", labels) == 3
    assert registry.get_sample_value("crm_relay_publish_errors_total", labels) == 1
    assert registry.get_sample_value("crm_relay_backlog_events", labels) == 7
    assert registry.get_sample_value("crm_relay_position", labels) == 42


def test_consumer_metrics_are_labelled_by_group() -> None:
    registry = CollectorRegistry()
    metrics = ConsumerMetrics(registry, group="analytics")
    metrics.applied.inc(2)
    metrics.duplicates.inc()
    metrics.retries.inc()
    metrics.dead_letter("crm.contacts.events")
    metrics.set_lag("crm.contacts.events", 3, 12)
    metrics.observe_handler("crm.contacts.contact.created", 0.004)
    group = {"group": "analytics"}
    assert registry.get_sample_value("crm_consumer_events_applied_total", group) == 2
    assert registry.get_sample_value("crm_consumer_events_duplicate_total", group) == 1
    assert registry.get_sample_value("crm_consumer_retries_total", group) == 1
    assert metrics.dead_letters("crm.contacts.events") == 1
    assert metrics.duplicates_seen() == 1
    lag = {**group, "topic": "crm.contacts.events", "partition": "3"}
    assert registry.get_sample_value("crm_consumer_lag_messages", lag) == 12
    handled = {**group, "event_type": "crm.contacts.contact.created"}
    count = "crm_consumer_handler_duration_seconds_count"
    assert registry.get_sample_value(count, handled) == 1


def test_the_newest_applied_event_time_is_kept_so_its_age_can_be_watched() -> None:
    registry = CollectorRegistry()
    metrics = ConsumerMetrics(registry, group="analytics")
    newer = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
    older = datetime(2026, 11, 24, 11, 0, tzinfo=UTC)
    metrics.applied_events([older, newer])
    metrics.applied_events([older])  # a late event from another partition does not go back
    name = "crm_consumer_newest_applied_event_timestamp_seconds"
    assert registry.get_sample_value(name, {"group": "analytics"}) == newer.timestamp()
    assert (
        registry.get_sample_value("crm_consumer_events_applied_total", {"group": "analytics"}) == 3
    )


def test_several_relays_and_consumers_share_one_registry() -> None:
    registry = CollectorRegistry()
    RelayMetrics(registry, service="sales", topic="crm.sales.events").published.inc()
    RelayMetrics(registry, service="sales", topic="crm.sales.audit").published.inc(2)
    ConsumerMetrics(registry, group="pipeline").applied.inc()
    ConsumerMetrics(registry, group="forecast").applied.inc(5)
    exposition = generate_latest(registry).decode()
    assert 'crm_relay_published_events_total{service="sales",topic="crm.sales.audit"} 2.0' in (
        exposition
    )
    assert 'crm_consumer_events_applied_total{group="forecast"} 5.0' in exposition


def test_registries_are_independent() -> None:
    first, second = CollectorRegistry(), CollectorRegistry()
    RelayMetrics(first, service="s", topic="t").published.inc()
    RelayMetrics(second, service="s", topic="t")
    labels = {"service": "s", "topic": "t"}
    assert first.get_sample_value("crm_relay_published_events_total", labels) == 1
    assert second.get_sample_value("crm_relay_published_events_total", labels) == 0


async def contact(request: Request) -> PlainTextResponse:
    if request.path_params["contact_id"] == "broken":
        raise RuntimeError("handler bug")
    return PlainTextResponse("ok")


async def scrape(_: Request) -> PlainTextResponse:
    return PlainTextResponse("# metrics")


def measured_app(registry: CollectorRegistry) -> HttpMetricsMiddleware:
    routes = [Route("/contacts/{contact_id}", contact), Route("/metrics", scrape)]
    return HttpMetricsMiddleware(Starlette(routes=routes), HttpMetrics.on(registry))


async def test_http_requests_are_counted_by_route_template_not_by_path() -> None:
    registry = CollectorRegistry()
    transport = httpx.ASGITransport(app=measured_app(registry))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        for contact_id in ("a", "b"):
            await http.get(f"/contacts/{contact_id}")
        await http.get("/nowhere/1")
        await http.get("/metrics")
    template = {"method": "GET", "route": "/contacts/{contact_id}"}
    assert registry.get_sample_value("http_requests_total", {**template, "status": "200"}) == 2
    assert registry.get_sample_value("http_request_duration_seconds_count", template) == 2
    unmatched = {"method": "GET", "route": "unmatched", "status": "404"}
    assert registry.get_sample_value("http_requests_total", unmatched) == 1
    assert "/contacts/a" not in generate_latest(registry).decode()
    assert 'route="/metrics"' not in generate_latest(registry).decode()


async def test_a_request_that_fails_unhandled_counts_as_a_500() -> None:
    registry = CollectorRegistry()
    transport = httpx.ASGITransport(app=measured_app(registry))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        with pytest.raises(RuntimeError):
            await http.get("/contacts/broken")
    labels = {"method": "GET", "route": "/contacts/{contact_id}", "status": "500"}
    assert registry.get_sample_value("http_requests_total", labels) == 1
