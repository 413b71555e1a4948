"""Command handlers: load the contact, let it decide, save its events and its row together."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from crm_contacts.application.accounts import AccountHandlers

from crm_contacts.adapters import accounts_read_model, idempotency, read_model
from crm_contacts.adapters.custom_fields import (
    KnownCatalogues,
    catalogue_from,
    catalogue_stream,
    load_catalogue,
)
from crm_contacts.adapters.read_model import ContactRow, DuplicateLookup
from crm_contacts.application.commands import (
    ArchiveContact,
    Caller,
    ChangeConsent,
    CreateContact,
    DefineCustomField,
    EraseContact,
    MergeContacts,
    UpdateContact,
)
from crm_contacts.domain.contact import Contact
from crm_contacts.domain.custom_fields import FieldCatalogue, FieldDefinition
from crm_contacts.domain.duplicates import LikelyDuplicate, Profile, rank
from crm_contacts.domain.errors import InvalidValue
from crm_shared.contracts.contacts import REGISTRY, ContactCreated
from crm_shared.errors import ConcurrencyConflict, NotFound
from crm_shared.eventstore import (
    EventStore,
    NewEvent,
    RecordedEvent,
    StreamStart,
    UnitOfWork,
    new_events,
)
from crm_shared.eventstore.requirements import (
    STREAM_EXISTS,
    STREAM_MOVED,
    SUBJECT_ERASED,
    Refused,
)
from crm_shared.privacy import SubjectCipher
from crm_shared.privacy.keystore import NewSubjectKey, SubjectKeyStore


@dataclass(frozen=True)
class Written:
    contact_id: str
    version: int
    row: ContactRow | None = field(default=None, kw_only=True)
    """The contact's read-model row as the write left it (None: read it back)."""


@dataclass(frozen=True)
class Created(Written):
    """A new contact as written, with the existing contacts that are probably the same person."""

    details: dict[str, Any]
    at: datetime
    likely_duplicates: list[LikelyDuplicate]


class _CatalogueChanged(Exception):
    """The tenant's custom fields changed after this process read them: create again."""


CATALOGUE_ATTEMPTS = 5
"""How many times a create is tried on a fresh read of custom fields that keep changing."""


@dataclass(frozen=True)
class _NewContact:
    """A contact decided on and not written yet."""

    contact: Contact
    key: NewSubjectKey
    at: datetime
    organisations: frozenset[str]
    profile: Profile


class ContactHandlers:
    def __init__(
        self,
        store: EventStore,
        keys: SubjectKeyStore,
        default_region: str | None = None,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
        accounts: AccountHandlers | None = None,
    ) -> None:
        self.store = store
        self.keys = keys
        self.accounts = accounts
        self.default_region = default_region
        self.new_id = new_id
        self.catalogues = KnownCatalogues()
        self._catalogue_unchanged = store.stream_at(":catalogue", ":catalogue_version")
        """The requirement of a create that the custom fields are as it was validated against."""

    async def create(self, command: CreateContact) -> Created:
        """Write the contact, its key and its first events, and look for its duplicates: one
        statement, which is a transaction of its own unless the create also keeps an
        idempotency key or links an organisation. It is validated against the custom fields
        this process knows of the tenant; if they changed meanwhile, or if it is refused, it
        is done again on a fresh read of them."""
        tenant = command.caller.tenant_id
        known = self.catalogues.get(tenant)
        fresh, validated = known is None, 0
        for _ in range(CATALOGUE_ATTEMPTS):
            if known is None:
                known = await load_catalogue(self.store, tenant)
                self.catalogues.keep(tenant, *known)
            validated = known[1]
            try:
                return await self._create(command, known)
            except _CatalogueChanged:
                pass
            except InvalidValue:
                if fresh:
                    raise
            known, fresh = None, True  # a refusal too may be of fields changed since
        actual = await self.store.stream_version(catalogue_stream(tenant))
        raise ConcurrencyConflict(catalogue_stream(tenant), validated, actual)

    async def _create(self, command: CreateContact, known: tuple[FieldCatalogue, int]) -> Created:
        if command.idempotency_key is None and command.works_at is None:
            new = self._new_contact(command, known)
            start = self.store.start_stream(
                new.contact.contact_id,
                self._versioned(new.contact, 0, new.at),
                command.caller.event_metadata(),
            )
            fetch = partial(self.store.fetch_as_transaction, writes_events=True)
            written = await self._insert_new(fetch, command, new, start, known)
            return self._created(new, written, {})
        async with self.store.unit_of_work() as uow:
            tenant = command.caller.tenant_id
            await idempotency.check_unused(
                uow.connection, self.store.schema, tenant, command.idempotency_key
            )
            new = self._new_contact(command, known)
            contact_id = new.contact.contact_id
            await idempotency.remember(
                uow.connection, self.store.schema, tenant, command.idempotency_key, contact_id
            )
            # Its events in the same statement as the rest, the transaction's last: see ``save``.
            start = uow.start_stream(
                contact_id, self._versioned(new.contact, 0, new.at), command.caller.event_metadata()
            )
            written = await self._insert_new(uow.fetch, command, new, start, known)
            employers = (
                await accounts_read_model.organisations_of(
                    uow.connection,
                    self.store.schema,
                    tenant,
                    [c.contact_id for c in written.candidates],
                )
                if new.organisations
                else {}
            )
            if command.works_at is not None and self.accounts is not None:
                account_id, role = command.works_at
                await self.accounts.link_in(  # after the contact's row, which it checks
                    uow, command.caller, account_id, None, contact_id, role, primary=False
                )
            return self._created(new, written, employers)

    def _new_contact(
        self, command: CreateContact, known: tuple[FieldCatalogue, int]
    ) -> _NewContact:
        tenant = command.caller.tenant_id
        contact_id = self.new_id()
        key = self.keys.new_key(tenant, contact_id)
        contact = Contact.create(
            contact_id,
            command.details,
            self.default_region,
            known[0],
            cipher=SubjectCipher(contact_id, key.key),
        )
        organisations: frozenset[str] = frozenset()
        if command.works_at is not None:
            if self.accounts is None:
                raise InvalidValue("works_at", "organisations are not available here")
            organisations = frozenset({command.works_at[0]})
        profile = Profile.of(contact_id, contact.state, organisations)
        return _NewContact(contact, key, datetime.now(UTC), organisations, profile)

    async def _insert_new(
        self,
        fetch: read_model.Fetch,
        command: CreateContact,
        new: _NewContact,
        start: StreamStart,
        known: tuple[FieldCatalogue, int],
    ) -> read_model.NewContactWritten:
        """The contact's statement; a refusal as the error it stands for."""
        tenant = command.caller.tenant_id
        try:
            return await read_model.insert_new(
                fetch,
                self.store.schema,
                tenant,
                new.contact,
                new.at,
                DuplicateLookup(
                    sorted(new.profile.emails),
                    sorted(new.profile.phones),
                    new.profile.last_name,
                    sorted(new.organisations),
                ),
                new.key,
                start,
                self._catalogue_unchanged,
                {"catalogue": catalogue_stream(tenant), "catalogue_version": known[1]},
            )
        except Refused as refused:
            if refused.refusal == STREAM_MOVED:
                raise _CatalogueChanged from None
            if refused.refusal == SUBJECT_ERASED:
                raise new.key.erased() from None
            if refused.refusal != STREAM_EXISTS:
                raise
            actual = await self.store.stream_version(new.contact.contact_id)
            raise ConcurrencyConflict(new.contact.contact_id, 0, actual) from None

    @staticmethod
    def _created(
        new: _NewContact,
        written: read_model.NewContactWritten,
        employers: dict[str, frozenset[str]],
    ) -> Created:
        duplicates = rank(
            new.profile,
            [
                Profile.of(c.contact_id, c.details, employers.get(c.contact_id, frozenset()))
                for c in written.candidates
            ],
        )
        contact = new.contact
        details = {**contact.state, "consents": contact.consents, "erased": False}
        return Created(
            contact.contact_id, contact.version, details, new.at, duplicates, row=written.row
        )

    async def update(self, command: UpdateContact) -> Written:
        tenant = command.caller.tenant_id
        async with self.store.unit_of_work() as uow:
            # the contact and the custom fields it is checked against, in one statement
            streams = await uow.read_streams([command.contact_id, catalogue_stream(tenant)])
            contact = await self.load(
                uow, command.caller, command.contact_id, streams[command.contact_id]
            )
            self._check_version(contact, command.expected_version)
            catalogue, _ = catalogue_from(tenant, streams[catalogue_stream(tenant)])
            contact.update(command.changes, self.default_region, catalogue)
            return await self.save(uow, command.caller, contact, command.expected_version)

    async def archive(self, command: ArchiveContact) -> Written:
        async with self.store.unit_of_work() as uow:
            contact = await self.load(uow, command.caller, command.contact_id)
            self._check_version(contact, command.expected_version)
            contact.archive(command.reason)
            return await self.save(uow, command.caller, contact, command.expected_version)

    async def change_consent(self, command: ChangeConsent) -> Written:
        async with self.store.unit_of_work() as uow:
            contact = await self.load(uow, command.caller, command.contact_id)
            self._check_version(contact, command.expected_version)
            contact.change_consent(
                command.channel, command.status, command.lawful_basis, command.source
            )
            return await self.save(uow, command.caller, contact, command.expected_version)

    async def merge(self, command: MergeContacts) -> Written:
        """Both contacts change in one transaction: the merge is all or nothing."""
        async with self.store.unit_of_work() as uow:
            survivor = await self.load(uow, command.caller, command.survivor_id)
            duplicate = await self.load(uow, command.caller, command.duplicate_id)
            self._check_version(survivor, command.survivor_version)
            self._check_version(duplicate, command.duplicate_version)
            survivor.merge(duplicate)
            await self.save(uow, command.caller, duplicate, command.duplicate_version)
            return await self.save(uow, command.caller, survivor, command.survivor_version)

    async def erase(self, command: EraseContact) -> Written:
        """Destroy the person's keys and scrub the read model, with the event, atomically."""
        async with self.store.unit_of_work() as uow:
            contact = await self.load(uow, command.caller, command.contact_id)
            version = contact.version
            erased_ids = contact.erase(command.reason)
            written = await self.save(uow, command.caller, contact, version)
            for erased_id in erased_ids:
                await self.keys.destroy(uow.connection, command.caller.tenant_id, erased_id)
            await read_model.scrub(
                uow.connection, self.store.schema, command.caller.tenant_id, erased_ids
            )
            return Written(written.contact_id, written.version)  # the row was scrubbed since

    async def define_field(self, command: DefineCustomField) -> FieldDefinition:
        """Define or change a custom field; definitions are a stream per tenant."""
        caller = command.caller
        async with self.store.unit_of_work() as uow:
            catalogue, version = await load_catalogue(uow, caller.tenant_id)
            event = catalogue.define(
                command.name,
                command.label,
                command.field_type,
                command.choices,
                command.required,
            )
            if event is not None:
                event_type, schema_version, data = REGISTRY.encode(event)
                await uow.append(
                    catalogue_stream(caller.tenant_id),
                    version,
                    [NewEvent(event_type, schema_version, data, partition_key=caller.tenant_id)],
                    caller.event_metadata(),
                )
            return catalogue.fields[command.name]

    async def load(
        self,
        uow: UnitOfWork,
        caller: Caller,
        contact_id: str,
        history: list[RecordedEvent] | None = None,
    ) -> Contact:
        """The contact its stream leaves (``history``: already read; else read here)."""
        if history is None:
            history = await uow.read_stream(contact_id)
        if (
            not history
            or history[0].metadata.tenant_id != caller.tenant_id
            or history[0].event_type != ContactCreated.event_type
        ):
            raise NotFound(f"no contact {contact_id}")
        cipher = await self.keys.cipher(uow, contact_id)
        if cipher.key is None and not cipher.erased:  # written before sealing: key it now
            key = await self.keys.create(uow, caller.tenant_id, contact_id)
            cipher = SubjectCipher(contact_id, key)
        return Contact.from_history(
            contact_id,
            [REGISTRY.decode_data(e.event_type, e.schema_version, e.data) for e in history],
            cipher,
        )

    @staticmethod
    def _check_version(contact: Contact, expected_version: int) -> None:
        if contact.version != expected_version:
            raise ConcurrencyConflict(contact.contact_id, expected_version, contact.version)

    async def save(
        self,
        uow: UnitOfWork,
        caller: Caller,
        contact: Contact,
        expected_version: int,
        now: datetime | None = None,
    ) -> Written:
        if not contact.pending:
            return Written(contact.contact_id, contact.version)
        now = now or datetime.now(UTC)
        encoded = self._versioned(contact, expected_version, now)
        row = await read_model.save(uow, self.store.schema, caller.tenant_id, contact, now)
        await read_model.save_identifiers(uow, self.store.schema, caller.tenant_id, contact)
        # The events last: their position, drawn by the append, is what the relay waits on
        # until this transaction commits (events after it are held back meanwhile), so it is
        # drawn as close to the commit as can be. A stale version still fails the whole.
        await uow.append(contact.contact_id, expected_version, encoded, caller.event_metadata())
        return Written(contact.contact_id, contact.version, row=row)

    @staticmethod
    def _versioned(contact: Contact, expected_version: int, now: datetime) -> list[NewEvent]:
        """The contact's pending events, encoded; the contact takes the version they bring
        it to (its row is written with it)."""
        encoded = new_events(REGISTRY, contact.pending, contact.contact_id, contact.contact_id, now)
        contact.version = expected_version + len(encoded)
        contact.pending.clear()
        return encoded
