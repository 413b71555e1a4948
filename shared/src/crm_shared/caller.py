"""Who asks a service to do something, and the metadata their events carry."""

from __future__ import annotations

from dataclasses import dataclass, field

from crm_shared.eventstore.model import EventMetadata
from crm_shared.telemetry import current_trace_context


@dataclass(frozen=True)
class Caller:
    """Who asks, for which tenant, within which trace."""

    tenant_id: str
    actor: str
    correlation_id: str
    roles: frozenset[str] = field(default_factory=frozenset)
    """What the caller may do (department roles); every role in development without tokens."""

    def event_metadata(self, causation_id: str | None = None) -> EventMetadata:
        """The metadata of the events this caller's command appends (with the current trace)."""
        traceparent, tracestate = current_trace_context()
        return EventMetadata(
            tenant_id=self.tenant_id,
            actor=self.actor,
            correlation_id=self.correlation_id,
            causation_id=causation_id,
            traceparent=traceparent,
            tracestate=tracestate,
        )
