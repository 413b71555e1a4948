"""The topics analytics reads and the contracts of each. Adding a source (the marketing
service's events, say) is one line here and its cases in ``projection``."""

from __future__ import annotations

from crm_shared.contracts.contacts import REGISTRY as CONTACTS
from crm_shared.contracts.sales import REGISTRY as SALES
from crm_shared.contracts.support import REGISTRY as SUPPORT
from crm_shared.events import EventContract, EventEnvelope, EventRegistry

SOURCES: dict[str, EventRegistry] = {
    "contacts": CONTACTS,
    "sales": SALES,
    "support": SUPPORT,
}
"""Service -> the registry of the event types it publishes (on ``<prefix>.<service>.events``)."""


def decode(envelope: EventEnvelope) -> EventContract | None:
    """The event as its newest contract, or None for a type no source knows (a producer
    newer than this reader: ignored, as a tolerant reader does). A known type in a schema
    version newer than ours raises, so the event waits in the dead-letter topic."""
    for registry in SOURCES.values():
        if envelope.type in KNOWN[id(registry)]:
            return registry.decode(envelope)
    return None


KNOWN = {id(registry): frozenset(registry.event_types()) for registry in SOURCES.values()}
