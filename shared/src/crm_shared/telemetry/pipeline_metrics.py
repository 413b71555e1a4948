"""Prometheus metrics of the event pipeline: the relay and the consumers.

Collectors are registered on the registry they are given (a service's own, or a test's), never
on a module-level global, so several relays or consumers can live in one process.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

_HANDLER_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)


class RelayMetrics:
    def __init__(self, registry: CollectorRegistry, *, service: str, topic: str) -> None:
        labels = {"service": service, "topic": topic}
        names = list(labels)
        self.published = Counter(
            "crm_relay_published_events",
            "Events published to Kafka by the outbox relay",
            names,
            registry=registry,
        ).labels(**labels)
        self.publish_errors = Counter(
            "crm_relay_publish_errors",
            "Times the relay paused on a broker or database error",
            names,
            registry=registry,
        ).labels(**labels)
        self.backlog = Gauge(
            "crm_relay_backlog_events",
            "Committed events not yet published",
            names,
            registry=registry,
        ).labels(**labels)
        self.position = Gauge(
            "crm_relay_position",
            "Global position of the last event published and checkpointed",
            names,
            registry=registry,
        ).labels(**labels)


class ConsumerMetrics:
    def __init__(self, registry: CollectorRegistry, *, group: str) -> None:
        self.applied = Counter(
            "crm_consumer_events_applied",
            "Events applied to a read model",
            ["group"],
            registry=registry,
        ).labels(group=group)
        self.duplicates = Counter(
            "crm_consumer_events_duplicate",
            "Events delivered again and skipped",
            ["group"],
            registry=registry,
        ).labels(group=group)
        self.retries = Counter(
            "crm_consumer_retries",
            "Retries of a failing event",
            ["group"],
            registry=registry,
        ).labels(group=group)
        self.dead_lettered = Counter(
            "crm_consumer_dlq_messages",
            "Messages sent to the dead-letter topic",
            ["group", "topic"],
            registry=registry,
        )
        self.handler_seconds = Histogram(
            "crm_consumer_handler_duration_seconds",
            "Time to apply one event",
            ["group", "event_type"],
            registry=registry,
            buckets=_HANDLER_BUCKETS,
        )
        self.lag = Gauge(
            "crm_consumer_lag_messages",
            "Messages behind the end of the partition",
            ["group", "topic", "partition"],
            registry=registry,
        )
        self._group = group
        self._registry = registry

    def dead_letter(self, topic: str) -> None:
        self.dead_lettered.labels(group=self._group, topic=topic).inc()

    def dead_letters(self, topic: str) -> float:
        return self._sample("crm_consumer_dlq_messages_total", topic=topic)

    def duplicates_seen(self) -> float:
        return self._sample("crm_consumer_events_duplicate_total")

    def _sample(self, name: str, **labels: str) -> float:
        value = self._registry.get_sample_value(name, {"group": self._group, **labels})
        return value or 0.0

    def observe_handler(self, event_type: str, seconds: float) -> None:
        self.handler_seconds.labels(group=self._group, event_type=event_type).observe(seconds)

    def set_lag(self, topic: str, partition: int, lag: int) -> None:
        self.lag.labels(group=self._group, topic=topic, partition=str(partition)).set(lag)
