"""Prometheus metrics of the event pipeline: the relay and the consumers.

Names carry the application's namespace ``crm_`` (Prometheus naming practice), then what is
measured, in base units (``_seconds``), with ``_total`` on counters:

- relay, labels ``service``, ``topic``: ``crm_relay_backlog_events``,
  ``crm_relay_published_events_total``, ``crm_relay_publish_errors_total``,
  ``crm_relay_position``;
- consumers: ``crm_consumer_lag_messages`` (``group``, ``topic``, ``partition``),
  ``crm_consumer_events_applied_total``, ``crm_consumer_events_duplicate_total``,
  ``crm_consumer_retries_total`` (``group``), ``crm_consumer_dlq_messages_total``
  (``group``, ``topic``), ``crm_consumer_handler_duration_seconds`` (``group``,
  ``event_type``).

Collectors live on the registry they are given (see ``registry``): several relays and
consumers can share a service's registry, and tests create registries of their own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from crm_shared.telemetry.registry import families_on

_HANDLER_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)


@dataclass(frozen=True)
class RelayFamilies:
    published: Counter
    publish_errors: Counter
    backlog: Gauge
    position: Gauge


def _relay_families(registry: CollectorRegistry) -> RelayFamilies:
    labels = ("service", "topic")
    return RelayFamilies(
        published=Counter(
            "crm_relay_published_events",
            "Events published to Kafka by the outbox relay",
            labels,
            registry=registry,
        ),
        publish_errors=Counter(
            "crm_relay_publish_errors",
            "Times the relay paused on a broker or database error",
            labels,
            registry=registry,
        ),
        backlog=Gauge(
            "crm_relay_backlog_events",
            "Committed events not yet published",
            labels,
            registry=registry,
        ),
        position=Gauge(
            "crm_relay_position",
            "Global position of the last event published and checkpointed",
            labels,
            registry=registry,
        ),
    )


class RelayMetrics:
    """The metrics of one relay: one service's events published to one topic."""

    def __init__(self, registry: CollectorRegistry, *, service: str, topic: str) -> None:
        families = families_on(registry, _relay_families)
        self.published = families.published.labels(service=service, topic=topic)
        self.publish_errors = families.publish_errors.labels(service=service, topic=topic)
        self.backlog = families.backlog.labels(service=service, topic=topic)
        self.position = families.position.labels(service=service, topic=topic)


@dataclass(frozen=True)
class ConsumerFamilies:
    applied: Counter
    duplicates: Counter
    retries: Counter
    dead_lettered: Counter
    handler_seconds: Histogram
    lag: Gauge
    newest_applied: Gauge


def _consumer_families(registry: CollectorRegistry) -> ConsumerFamilies:
    return ConsumerFamilies(
        applied=Counter(
            "crm_consumer_events_applied",
            "Events applied to a read model",
            ["group"],
            registry=registry,
        ),
        duplicates=Counter(
            "crm_consumer_events_duplicate",
            "Events delivered again and skipped",
            ["group"],
            registry=registry,
        ),
        retries=Counter(
            "crm_consumer_retries",
            "Retries of a failing event",
            ["group"],
            registry=registry,
        ),
        dead_lettered=Counter(
            "crm_consumer_dlq_messages",
            "Messages sent to the dead-letter topic",
            ["group", "topic"],
            registry=registry,
        ),
        handler_seconds=Histogram(
            "crm_consumer_handler_duration_seconds",
            "Time to apply one event",
            ["group", "event_type"],
            registry=registry,
            buckets=_HANDLER_BUCKETS,
        ),
        lag=Gauge(
            "crm_consumer_lag_messages",
            "Messages behind the end of the partition",
            ["group", "topic", "partition"],
            registry=registry,
        ),
        newest_applied=Gauge(
            "crm_consumer_newest_applied_event_timestamp_seconds",
            "When the newest event applied so far happened (its CloudEvents time, Unix seconds);"
            " its age is time() minus it",
            ["group"],
            registry=registry,
        ),
    )


class ConsumerMetrics:
    """The metrics of one consumer group."""

    def __init__(self, registry: CollectorRegistry, *, group: str) -> None:
        families = families_on(registry, _consumer_families)
        self.applied = families.applied.labels(group=group)
        self.duplicates = families.duplicates.labels(group=group)
        self.retries = families.retries.labels(group=group)
        self.dead_lettered = families.dead_lettered
        self.handler_seconds = families.handler_seconds
        self.lag = families.lag
        self.newest_applied = families.newest_applied.labels(group=group)
        self._newest_applied = 0.0
        self._group = group
        self._registry = registry

    def dead_letter(self, topic: str) -> None:
        """Count a message of ``topic`` sent to ``<topic>.dlq``."""
        self.dead_lettered.labels(group=self._group, topic=topic).inc()

    def observe_handler(self, event_type: str, seconds: float) -> None:
        self.handler_seconds.labels(group=self._group, event_type=event_type).observe(seconds)

    def applied_events(self, times: Sequence[datetime]) -> None:
        """Count events applied, and keep the time of the newest of them."""
        self.applied.inc(len(times))
        newest = max(time.timestamp() for time in times)
        if newest > self._newest_applied:
            self._newest_applied = newest
            self.newest_applied.set(newest)

    def newest_applied_timestamp(self) -> float:
        """The CloudEvents time of the newest event applied so far (0 before the first)."""
        return self._newest_applied

    def set_lag(self, topic: str, partition: int, lag: int) -> None:
        self.lag.labels(group=self._group, topic=topic, partition=str(partition)).set(lag)

    def dead_letters(self, topic: str) -> float:
        """Messages of ``topic`` this group dead-lettered so far."""
        return self._sample("crm_consumer_dlq_messages_total", topic=topic)

    def duplicates_seen(self) -> float:
        """Deliveries this group recognised as already applied so far."""
        return self._sample("crm_consumer_events_duplicate_total")

    def _sample(self, name: str, **labels: str) -> float:
        value = self._registry.get_sample_value(name, {"group": self._group, **labels})
        return value or 0.0
