"""Append-only event store on PostgreSQL, one schema per service."""

from crm_shared.eventstore.encoding import new_events
from crm_shared.eventstore.migrate import upgrade
from crm_shared.eventstore.model import EventMetadata, NewEvent, RecordedEvent
from crm_shared.eventstore.store import EventStore, StreamStart, UnitOfWork

__all__ = [
    "EventMetadata",
    "EventStore",
    "NewEvent",
    "RecordedEvent",
    "StreamStart",
    "UnitOfWork",
    "new_events",
    "upgrade",
]
