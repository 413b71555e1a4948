"""Queries: the current contact, a page of contacts, a contact's history and its past."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crm_contacts.adapters import accounts_read_model, read_model
from crm_contacts.adapters.custom_fields import load_catalogue
from crm_contacts.adapters.read_model import ContactFilter, ContactRow
from crm_contacts.domain.contact import Contact
from crm_contacts.domain.custom_fields import FieldDefinition
from crm_contacts.domain.duplicates import LikelyDuplicate, Profile, rank
from crm_shared.contracts.contacts import (
    REGISTRY,
    ConsentChanged,
    ContactArchived,
    ContactCreated,
    ContactErased,
    ContactMerged,
    ContactMergedInto,
    ContactUpdated,
    FieldChange,
)
from crm_shared.errors import NotFound, PlatformError
from crm_shared.eventstore import EventStore, RecordedEvent
from crm_shared.privacy import Sealed, SubjectCipher
from crm_shared.privacy.keystore import SubjectKeyStore
from crm_shared.sql import DriverReads, pooled_reads

ERASED_MARK = {"old": None, "new": "[erased]"}
"""How a history shows personal changes whose key is destroyed."""


class KeyErased(PlatformError):
    status_code = 410
    code = "erased"


@dataclass(frozen=True)
class DataKey:
    subject_id: str
    key: bytes


@dataclass(frozen=True)
class ContactView:
    contact_id: str
    version: int
    details: dict[str, Any]
    archived: bool


@dataclass(frozen=True)
class ConsentRecord:
    channel: str
    status: str
    lawful_basis: str
    source: str
    actor: str
    at: datetime


@dataclass(frozen=True)
class Change:
    version: int
    event_type: str
    actor: str
    at: datetime
    changes: dict[str, dict[str, Any]]


class ContactQueries:
    def __init__(self, store: EventStore, keys: SubjectKeyStore) -> None:
        self.store = store
        self.keys = keys

    async def get(self, tenant_id: str, contact_id: str) -> ContactRow:
        async with pooled_reads(self.store.engine) as reads:
            row = await read_model.get(reads, self.store.schema, tenant_id, contact_id)
        if row is None:
            raise NotFound(f"no contact {contact_id}")
        return row

    async def page(
        self, tenant_id: str, where: ContactFilter, limit: int, cursor: str | None
    ) -> tuple[list[ContactRow], str | None]:
        after = read_model.decode_cursor(cursor) if cursor else None
        async with self.store.engine.connect() as connection:
            rows = await read_model.page(
                connection, self.store.schema, tenant_id, where, limit + 1, after
            )
        more = len(rows) > limit
        rows = rows[:limit]
        return rows, read_model.encode_cursor(rows[-1]) if more else None

    async def likely_duplicates(self, tenant_id: str, contact_id: str) -> list[LikelyDuplicate]:
        """Contacts that are probably the same person, best match first."""
        row = await self.get(tenant_id, contact_id)
        schema = self.store.schema
        async with self.store.engine.connect() as connection:
            mine = await accounts_read_model.organisations_of(
                connection, schema, tenant_id, [contact_id]
            )
            profile = Profile.of(contact_id, row.details, mine.get(contact_id, frozenset()))
            candidates = await read_model.duplicate_candidates(
                await DriverReads.on(connection),
                schema,
                tenant_id,
                sorted(profile.emails),
                sorted(profile.phones),
                profile.last_name,
                sorted(profile.organisations),
            )
            employers = await accounts_read_model.organisations_of(
                connection, schema, tenant_id, [c.contact_id for c in candidates]
            )
        return rank(
            profile,
            [
                Profile.of(c.contact_id, c.details, employers.get(c.contact_id, frozenset()))
                for c in candidates
            ],
        )

    async def custom_fields(self, tenant_id: str) -> list[FieldDefinition]:
        async with self.store.unit_of_work() as uow:
            catalogue, _ = await load_catalogue(uow, tenant_id)
        return sorted(catalogue.fields.values(), key=lambda d: d.name)

    async def each(
        self, tenant_id: str, where: ContactFilter, page_size: int = 1000
    ) -> AsyncIterator[ContactRow]:
        """Every matching contact, fetched a page at a time."""
        cursor: str | None = None
        while True:
            rows, cursor = await self.page(tenant_id, where, page_size, cursor)
            for row in rows:
                yield row
            if cursor is None:
                return

    async def as_of(self, tenant_id: str, contact_id: str, moment: datetime) -> ContactView:
        """The contact as it was at ``moment``, rebuilt from its events."""
        history = await self._history(tenant_id, contact_id, moment)
        contact = Contact.from_history(
            contact_id,
            [REGISTRY.decode_data(e.event_type, e.schema_version, e.data) for e in history],
            await self._cipher(contact_id),
        )
        return ContactView(
            contact_id,
            contact.version,
            {**contact.state, "erased": contact.erased},
            contact.archived,
        )

    async def history(self, tenant_id: str, contact_id: str) -> list[Change]:
        """Who changed what, when, with old and new values, oldest first."""
        changes = []
        history = await self._history(tenant_id, contact_id, None)
        cipher = await self._cipher(contact_id)
        for event in history:
            decoded = REGISTRY.decode_data(event.event_type, event.schema_version, event.data)
            if isinstance(decoded, ContactCreated):
                fields = decoded.model_dump(mode="json", exclude={"contact_id", "personal"})
                personal = cipher.open(decoded.personal)
                fields.update(personal or {})
                diff = {
                    k: {"old": None, "new": v} for k, v in fields.items() if v not in (None, [], {})
                }
                if personal is None:
                    diff["personal_data"] = ERASED_MARK
            elif isinstance(decoded, ContactUpdated):
                diff = _diff(decoded.changes, decoded.personal_changes, cipher)
            elif isinstance(decoded, ContactArchived):
                diff = {"archived": {"old": False, "new": True}}
            elif isinstance(decoded, ContactErased):
                diff = {"erased": {"old": False, "new": True}}
            elif isinstance(decoded, ContactMerged):
                diff = _diff(decoded.changes, decoded.personal_changes, cipher)
                diff["merged_contact_id"] = {"old": None, "new": decoded.merged_contact_id}
            elif isinstance(decoded, ContactMergedInto):
                diff = {"merged_into": {"old": None, "new": decoded.survivor_id}}
            elif isinstance(decoded, ConsentChanged):
                diff = {f"consent.{decoded.channel}": {"old": None, "new": decoded.status}}
            else:
                diff = {}
            changes.append(
                Change(
                    event.stream_version,
                    event.event_type,
                    event.metadata.actor,
                    event.recorded_at,
                    diff,
                )
            )
        return changes

    async def consents(self, tenant_id: str, contact_id: str) -> list[ConsentRecord]:
        """Every consent change of the contact, oldest first (the last per channel holds)."""
        records = []
        for event in await self._history(tenant_id, contact_id, None):
            decoded = REGISTRY.decode_data(event.event_type, event.schema_version, event.data)
            if isinstance(decoded, ConsentChanged):
                records.append(
                    ConsentRecord(
                        decoded.channel,
                        decoded.status,
                        decoded.lawful_basis,
                        decoded.source,
                        event.metadata.actor,
                        event.occurred_at,
                    )
                )
        return records

    async def data_key(self, tenant_id: str, contact_id: str) -> DataKey:
        """The contact's data key, for subscribers that open the sealed values of its events."""
        await self._history(tenant_id, contact_id, None)
        cipher = await self._cipher(contact_id)
        if cipher.key is None:
            raise KeyErased(f"contact {contact_id} was erased: its key no longer exists")
        return DataKey(contact_id, cipher.key)

    async def personal_data(self, tenant_id: str, contact_id: str) -> dict[str, Any]:
        """Everything this service holds about the person: the answer to an access request."""
        row = await self.get(tenant_id, contact_id)
        consents = await self.consents(tenant_id, contact_id)
        history = await self.history(tenant_id, contact_id)
        return {
            "subject": {"contact_id": contact_id, "tenant_id": tenant_id},
            "record": {
                **row.details,
                "version": row.version,
                "archived": row.archived,
                "created_at": row.created_at.isoformat(),
                "updated_at": row.updated_at.isoformat(),
            },
            "consents": [{**record.__dict__, "at": record.at.isoformat()} for record in consents],
            "history": [{**change.__dict__, "at": change.at.isoformat()} for change in history],
            "processing": {
                "controller": "this CRM's operator (the tenant)",
                "storage": "contacts service: event store (personal values sealed per person),"
                " contacts read model, Kafka topic crm.contacts.events (sealed)",
            },
        }

    async def _cipher(self, contact_id: str) -> SubjectCipher:
        async with pooled_reads(self.store.engine) as reads:
            return await self.keys.cipher(reads, contact_id)

    async def _history(
        self, tenant_id: str, contact_id: str, moment: datetime | None
    ) -> list[RecordedEvent]:
        events = await self.store.read_stream(contact_id, as_of=moment)
        if moment is not None and not events:
            everything = await self.store.read_stream(contact_id)
            if everything and everything[0].metadata.tenant_id == tenant_id:
                raise NotFound(f"contact {contact_id} did not exist yet at {moment.isoformat()}")
        if (
            not events
            or events[0].metadata.tenant_id != tenant_id
            or events[0].event_type != ContactCreated.event_type
        ):
            raise NotFound(f"no contact {contact_id}")
        return events


def _diff(
    plain: dict[str, FieldChange], sealed: Sealed | None, cipher: SubjectCipher
) -> dict[str, dict[str, Any]]:
    diff = {name: change.model_dump(mode="json") for name, change in plain.items()}
    if sealed is not None:
        opened = cipher.open(sealed)
        diff.update(opened if opened is not None else {"personal_data": ERASED_MARK})
    return diff


def profile_of(row: ContactRow) -> Profile:
    return Profile.of(row.contact_id, row.details)
