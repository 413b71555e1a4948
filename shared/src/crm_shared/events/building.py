"""An event's envelope made directly, as a service's relay would publish it: for tools that
publish events without an event store (replays, load generators) and for tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from crm_shared.events.contracts import EventContract
from crm_shared.events.envelope import EventEnvelope
from crm_shared.events.naming import dataschema_for
from crm_shared.events.registry import EventRegistry


def envelope_for_event(
    registry: EventRegistry,
    event: EventContract,
    *,
    source: str,
    tenant_id: str,
    stream_id: str,
    actor: str,
    stream_version: int = 1,
    time: datetime | None = None,
) -> EventEnvelope:
    """The CloudEvent for ``event``, keyed (and partitioned) by ``stream_id``, with a fresh id
    and correlation id; ``time`` defaults to now."""
    event_type, version, data = registry.encode(event)
    return EventEnvelope(
        id=str(uuid.uuid4()),
        source=source,
        type=event_type,
        time=time or datetime.now(UTC),
        dataschema=dataschema_for(event_type, version),
        data=data,
        tenantid=tenant_id,
        actor=actor,
        correlationid=str(uuid.uuid4()),
        streamid=stream_id,
        streamversion=stream_version,
        partitionkey=stream_id,
    )
