"""What the event store accepts and returns: plain values, no I/O."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from crm_shared.events.envelope import EVENT_TYPE


@dataclass(frozen=True, slots=True)
class EventMetadata:
    """Who caused a command's events, and in which trace: shared by all events of one append."""

    tenant_id: str
    actor: str
    correlation_id: str
    causation_id: str | None = None
    traceparent: str | None = None
    tracestate: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id,
            "actor": self.actor,
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
            "traceparent": self.traceparent,
            "tracestate": self.tracestate,
        }

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> EventMetadata:
        return cls(
            tenant_id=raw["tenant_id"],
            actor=raw["actor"],
            correlation_id=raw["correlation_id"],
            causation_id=raw.get("causation_id"),
            traceparent=raw.get("traceparent"),
            tracestate=raw.get("tracestate"),
        )


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event an aggregate decided on, not yet stored.

    ``partition_key`` is the customer the event concerns (contact or account id): it becomes the
    Kafka record key, so all events about one customer stay in order within the topic.
    """

    event_type: str
    schema_version: int
    data: dict[str, Any]
    partition_key: str
    subject: str | None = None
    event_id: uuid.UUID = field(default_factory=uuid.uuid4)
    occurred_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        # Checked here, once, so that what the relay publishes needs no further validation.
        if not EVENT_TYPE.match(self.event_type):
            raise ValueError(f"event type {self.event_type!r}: use crm.<service>.<entity>.<verb>")
        if self.schema_version < 1:
            raise ValueError("schema_version must be >= 1")
        if not self.partition_key:
            raise ValueError("partition_key must name the customer the event concerns")
        if self.occurred_at.tzinfo is None:
            raise ValueError("occurred_at must be timezone-aware")


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    """An event as committed to the store, with its place in the stream and in the log."""

    global_position: int
    event_id: uuid.UUID
    stream_id: str
    stream_version: int
    event_type: str
    schema_version: int
    partition_key: str
    subject: str | None
    data: dict[str, Any]
    metadata: EventMetadata
    occurred_at: datetime
    recorded_at: datetime
