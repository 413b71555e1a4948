"""A tenant's custom field definitions: a stream of its own, folded on every write."""

from __future__ import annotations

from crm_contacts.domain.custom_fields import FieldCatalogue, FieldDefinition
from crm_shared.contracts.contacts import REGISTRY, CustomFieldDefined
from crm_shared.eventstore import RecordedEvent, UnitOfWork


def catalogue_stream(tenant_id: str) -> str:
    return f"custom-fields:{tenant_id}:contact"


async def load_catalogue(uow: UnitOfWork, tenant_id: str) -> tuple[FieldCatalogue, int]:
    """The tenant's custom fields as their definition events leave them, and the version."""
    return catalogue_from(tenant_id, await uow.read_stream(catalogue_stream(tenant_id)))


def catalogue_from(tenant_id: str, history: list[RecordedEvent]) -> tuple[FieldCatalogue, int]:
    """The catalogue its stream's events (``history``) leave, and the stream's version."""
    catalogue = FieldCatalogue(tenant_id)
    for event in history:
        decoded = REGISTRY.decode_data(event.event_type, event.schema_version, event.data)
        if isinstance(decoded, CustomFieldDefined):
            catalogue.fields[decoded.name] = FieldDefinition.from_event(decoded)
    return catalogue, len(history)
