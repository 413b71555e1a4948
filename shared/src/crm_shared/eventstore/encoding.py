"""Typed events turned into what the store appends."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from crm_shared.events import EventContract, EventRegistry
from crm_shared.eventstore.model import NewEvent


def new_events(
    registry: EventRegistry,
    events: Iterable[EventContract],
    partition_key: str,
    subject: str | None = None,
    occurred_at: datetime | None = None,
) -> list[NewEvent]:
    """The events of one command, encoded by ``registry``, all about ``partition_key``."""
    at = occurred_at or datetime.now(UTC)
    encoded = []
    for event in events:
        event_type, version, data = registry.encode(event)
        encoded.append(
            NewEvent(
                event_type=event_type,
                schema_version=version,
                data=data,
                partition_key=partition_key,
                subject=subject,
                occurred_at=at,
            )
        )
    return encoded
