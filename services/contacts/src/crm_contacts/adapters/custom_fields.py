"""A tenant's custom field definitions: a stream of its own, folded on every write."""

from __future__ import annotations

from collections import OrderedDict

from crm_contacts.domain.custom_fields import FieldCatalogue, FieldDefinition
from crm_shared.contracts.contacts import REGISTRY, CustomFieldDefined
from crm_shared.eventstore import EventStore, RecordedEvent, UnitOfWork


def catalogue_stream(tenant_id: str) -> str:
    return f"custom-fields:{tenant_id}:contact"


async def load_catalogue(
    reader: EventStore | UnitOfWork, tenant_id: str
) -> tuple[FieldCatalogue, int]:
    """The tenant's custom fields as their definition events leave them, and the version:
    read in a unit of work, or on their own."""
    return catalogue_from(tenant_id, await reader.read_stream(catalogue_stream(tenant_id)))


def catalogue_from(tenant_id: str, history: list[RecordedEvent]) -> tuple[FieldCatalogue, int]:
    """The catalogue its stream's events (``history``) leave, and the stream's version."""
    catalogue = FieldCatalogue(tenant_id)
    for event in history:
        decoded = REGISTRY.decode_data(event.event_type, event.schema_version, event.data)
        if isinstance(decoded, CustomFieldDefined):
            catalogue.fields[decoded.name] = FieldDefinition.from_event(decoded)
    return catalogue, len(history)


class KnownCatalogues:
    """The catalogue this process last read of each tenant, with its stream's version then.

    A create validates against it and its statement reads the stream's version as it writes;
    when another writer (any replica) has changed the catalogue since, the create is done again
    on a fresh read. Catalogues change seldom, and a create saves a round trip. Only the
    ``most`` tenants used last are kept.
    """

    def __init__(self, most: int = 1024) -> None:
        self._most = most
        self._known: OrderedDict[str, tuple[FieldCatalogue, int]] = OrderedDict()

    def get(self, tenant_id: str) -> tuple[FieldCatalogue, int] | None:
        known = self._known.get(tenant_id)
        if known is not None:
            self._known.move_to_end(tenant_id)
        return known

    def keep(self, tenant_id: str, catalogue: FieldCatalogue, version: int) -> None:
        self._known[tenant_id] = (catalogue, version)
        self._known.move_to_end(tenant_id)
        while len(self._known) > self._most:
            self._known.popitem(last=False)
