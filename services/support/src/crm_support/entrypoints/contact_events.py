"""What the support service does with the contacts service's events: a merge re-points the
merged contact's cases to the survivor; an erasure erases the words of every case about the
erased contacts. Other event types are ignored."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from crm_shared.caller import Caller
from crm_shared.consumer import ApplyEvent
from crm_shared.contracts.contacts import REGISTRY as CONTACTS
from crm_shared.contracts.contacts import ContactErased, ContactMerged
from crm_shared.events import EventEnvelope
from crm_shared.eventstore import EventStore
from crm_support.application.cases import CaseHandlers

CONSUMER_GROUP = "support.contacts"
"""Its consumer group, after the platform's prefix: crm-support.contacts."""
APPLIED_TYPES = frozenset({ContactMerged.event_type, ContactErased.event_type})
"""The only contacts events it applies; the consumer passes over the others unclaimed."""
ACTOR = "crm-support"


def apply_contact_event(store: EventStore, cases: CaseHandlers) -> ApplyEvent:
    async def apply(connection: AsyncConnection, envelope: EventEnvelope) -> None:
        if envelope.type not in APPLIED_TYPES:
            return
        event = CONTACTS.decode(envelope)
        caller = Caller(envelope.tenantid, ACTOR, envelope.correlationid or envelope.id)
        async with store.joined(connection) as uow:
            if isinstance(event, ContactMerged):
                await cases.repoint_contact(
                    uow, caller, event.merged_contact_id, event.contact_id, envelope.id
                )
            elif isinstance(event, ContactErased):
                await cases.erase_about_contacts(uow, caller, event.erased_contact_ids, envelope.id)

    return apply
