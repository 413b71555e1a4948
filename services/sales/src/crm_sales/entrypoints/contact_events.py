"""What the sales service does with the contacts service's events.

A merge re-points the merged contact's opportunities to the survivor. An erasure erases the
words of every activity about the erased contacts (their keys are destroyed); opportunities
hold only the contact's id. Other event types are ignored.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from crm_sales.application.activities import ActivityHandlers
from crm_sales.application.handlers import SalesHandlers
from crm_shared.caller import Caller
from crm_shared.consumer import ApplyEvent
from crm_shared.contracts.contacts import REGISTRY as CONTACTS
from crm_shared.contracts.contacts import ContactErased, ContactMerged
from crm_shared.events import EventEnvelope
from crm_shared.eventstore import EventStore

CONSUMER_GROUP = "sales.contacts"
"""Its consumer group, after the platform's prefix: crm-sales.contacts."""
APPLIED_TYPES = frozenset({ContactMerged.event_type, ContactErased.event_type})
"""The only contacts events it applies; the consumer passes over the others unclaimed."""
ACTOR = "crm-sales"


def apply_contact_event(
    store: EventStore, handlers: SalesHandlers, activities: ActivityHandlers
) -> ApplyEvent:
    async def apply(connection: AsyncConnection, envelope: EventEnvelope) -> None:
        if envelope.type not in APPLIED_TYPES:
            return
        event = CONTACTS.decode(envelope)
        caller = Caller(envelope.tenantid, ACTOR, envelope.correlationid or envelope.id)
        async with store.joined(connection) as uow:
            if isinstance(event, ContactMerged):
                await handlers.repoint_contact(
                    uow, caller, event.merged_contact_id, event.contact_id, envelope.id
                )
            elif isinstance(event, ContactErased):
                await activities.erase_about_contacts(
                    uow, caller, event.erased_contact_ids, envelope.id
                )

    return apply
