"""The contact aggregate: it changes state only by applying events, which it records.

Its personal fields are sealed in the events it records with the contact's own cipher, and
opened with it when its history is replayed; once the key is destroyed (erasure) they replay
as empty while the non-personal facts stay.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, get_args

from pydantic import ValidationError

from crm_contacts.domain.custom_fields import FieldCatalogue
from crm_contacts.domain.errors import ContactIsArchived, ContactWasMerged, InvalidValue
from crm_contacts.domain.values import normalise_country, normalise_email, normalise_phone
from crm_shared.contracts.contacts import (
    PERSONAL_FIELDS,
    ConsentChanged,
    ContactArchived,
    ContactCreated,
    ContactErased,
    ContactMerged,
    ContactMergedInto,
    ContactUpdated,
    EmailAddress,
    ErasureReason,
    FieldChange,
    LifecycleStage,
    PhoneNumber,
    PostalAddress,
)
from crm_shared.events import EventContract
from crm_shared.privacy import Sealed, SubjectCipher

ERASED: dict[str, Any] = {
    "first_name": None,
    "last_name": None,
    "emails": [],
    "phones": [],
    "addresses": [],
    "custom_fields": {},
}
"""What the personal fields of an erased contact read as."""

UPDATABLE = (
    "addresses",
    "custom_fields",
    "first_name",
    "last_name",
    "emails",
    "phones",
    "lifecycle_stage",
    "owner_id",
    "tags",
    "source",
)


@dataclass
class ContactDetails:
    """What a command says about a contact, before normalisation."""

    last_name: str
    first_name: str | None = None
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    addresses: list[dict[str, Any]] = field(default_factory=list)
    """Postal addresses (line1, line2, city, region, postal_code, country); first = primary."""
    lifecycle_stage: str = "lead"
    owner_id: str | None = None
    tags: list[str] = field(default_factory=list)
    source: str | None = None
    custom_fields: dict[str, Any] = field(default_factory=dict)


@dataclass
class Contact:
    contact_id: str
    cipher: SubjectCipher
    version: int = 0
    state: dict[str, Any] = field(default_factory=dict)
    archived: bool = False
    erased: bool = False
    merged_ids: list[str] = field(default_factory=list)
    """Contacts merged into this one: the same person."""
    consents: dict[str, dict[str, str]] = field(default_factory=dict)
    pending: list[EventContract] = field(default_factory=list)
    stored_identifiers: frozenset[tuple[str, str]] = frozenset()
    """Its identifiers as last stored for duplicate look-ups: those of the history it was
    loaded from (none for a new contact)."""

    @classmethod
    def from_history(
        cls, contact_id: str, history: list[EventContract], cipher: SubjectCipher
    ) -> Contact:
        contact = cls(contact_id, cipher)
        for event in history:
            contact._apply(event)
            contact.version += 1
        contact.stored_identifiers = contact.identifiers()
        return contact

    def identifiers(self) -> frozenset[tuple[str, str]]:
        """Its emails, phones and last name as (kind, value), by which duplicates are found;
        none once archived (an archived contact is nobody's duplicate). The store compares
        last names case-insensitively."""
        if self.archived:
            return frozenset()
        emails = [("email", str(e["address"])) for e in self.state.get("emails", [])]
        phones = [("phone", str(p["number"])) for p in self.state.get("phones", [])]
        names = [("last_name", str(last))] if (last := self.state.get("last_name")) else []
        return frozenset(emails + phones + names)

    @classmethod
    def create(
        cls,
        contact_id: str,
        details: ContactDetails,
        default_region: str | None = None,
        catalogue: FieldCatalogue | None = None,
        *,
        cipher: SubjectCipher,
    ) -> Contact:
        contact = cls(contact_id, cipher)
        fields = _normalised(details.__dict__, default_region, catalogue)
        personal = {name: fields.pop(name) for name in PERSONAL_FIELDS}
        contact._record(
            ContactCreated(contact_id=contact_id, personal=cipher.seal(personal), **fields)
        )
        return contact

    def update(
        self,
        changes: dict[str, Any],
        default_region: str | None = None,
        catalogue: FieldCatalogue | None = None,
    ) -> None:
        """Record the fields that really change; nothing when nothing does.

        ``custom_fields`` changes only the fields it names (``null`` clears one).
        """
        self._check_not_archived()
        unknown = set(changes) - set(UPDATABLE)
        if unknown:
            raise InvalidValue(sorted(unknown)[0], "cannot be changed")
        if "custom_fields" in changes:
            current = dict(self.state.get("custom_fields", {}))
            current.update(changes["custom_fields"] or {})
            changes = {
                **changes,
                "custom_fields": {k: v for k, v in current.items() if v is not None},
            }
        proposed = _normalised({**self._as_details(), **changes}, default_region, catalogue)
        diff = {
            name: FieldChange(old=self.state.get(name), new=value)
            for name, value in proposed.items()
            if name in changes and value != self.state.get(name)
        }
        if diff:
            plain, sealed = self._split(diff)
            self._record(
                ContactUpdated(contact_id=self.contact_id, changes=plain, personal_changes=sealed)
            )

    def change_consent(self, channel: str, status: str, lawful_basis: str, source: str) -> None:
        """Record a consent change for ``channel``; nothing when it is already so."""
        self._check_not_archived()
        current = self.consents.get(channel)
        if current and (current["status"], current["lawful_basis"]) == (status, lawful_basis):
            return
        try:
            event = ConsentChanged(
                contact_id=self.contact_id,
                channel=channel,
                status=status,
                lawful_basis=lawful_basis,
                source=source,
            )
        except ValidationError as error:
            first = error.errors()[0]
            raise InvalidValue(str(first["loc"][0]), first["msg"]) from None
        self._record(event)

    def merge(self, other: Contact) -> None:
        """Absorb ``other``: fill what this contact lacks, unite emails, phones and tags.

        This contact's values win where both have one; the lifecycle stage taken is the
        further along. ``other`` records that it was merged into this one.
        """
        self._check_not_archived()
        other._check_not_archived()
        if other.contact_id == self.contact_id:
            raise InvalidValue("duplicate_id", "a contact cannot be merged into itself")
        winners: dict[str, str] = {}
        merged: dict[str, Any] = {}
        for name in ("first_name", "last_name", "owner_id", "source"):
            mine, theirs = self.state.get(name), other.state.get(name)
            winners[name] = "survivor" if mine or not theirs else "merged"
            merged[name] = mine if winners[name] == "survivor" else theirs
        stages = list(get_args(LifecycleStage))
        mine_stage, their_stage = self.state["lifecycle_stage"], other.state["lifecycle_stage"]
        further = stages.index(their_stage) > stages.index(mine_stage) and their_stage != "other"
        winners["lifecycle_stage"] = "merged" if further else "survivor"
        merged["lifecycle_stage"] = their_stage if further else mine_stage
        for name, key in (("emails", "address"), ("phones", "number")):
            united = [i[key] for i in self.state.get(name, [])]
            united += [i[key] for i in other.state.get(name, []) if i[key] not in united]
            winners[name] = "both" if len(united) > len(self.state.get(name, [])) else "survivor"
            merged[name] = united
        merged["tags"] = sorted({*self.state.get("tags", []), *other.state.get("tags", [])})
        winners["tags"] = "both" if merged["tags"] != self.state.get("tags", []) else "survivor"
        merged["custom_fields"] = {
            **other.state.get("custom_fields", {}),
            **self.state.get("custom_fields", {}),
        }
        winners["custom_fields"] = (
            "both" if merged["custom_fields"] != self.state.get("custom_fields", {}) else "survivor"
        )
        proposed = _normalised(merged, None, None, trusted_custom_fields=True)
        changes = {
            name: FieldChange(old=self.state.get(name), new=value)
            for name, value in proposed.items()
            if value != self.state.get(name)
        }
        plain, sealed = self._split(changes)
        self._record(
            ContactMerged(
                contact_id=self.contact_id,
                merged_contact_id=other.contact_id,
                changes=plain,
                personal_changes=sealed,
                winners=winners,
            )
        )
        other._record(ContactMergedInto(contact_id=other.contact_id, survivor_id=self.contact_id))

    def archive(self, reason: str | None = None) -> None:
        self._check_not_archived()
        self._record(ContactArchived(contact_id=self.contact_id, reason=reason))

    def erase(self, reason: ErasureReason = "data_subject_request") -> list[str]:
        """Erase the person: this contact and every contact merged into it (the same person).

        Returns the ids whose keys must be destroyed; nothing is recorded when already erased.
        A contact merged into another is erased through its survivor.
        """
        if self.erased:
            return []
        if self.state.get("merged_into"):
            raise ContactWasMerged(
                f"contact {self.contact_id} was merged into {self.state['merged_into']}: "
                "erase that contact, which erases this one too"
            )
        erased_ids = [self.contact_id, *self.merged_ids]
        self._record(
            ContactErased(contact_id=self.contact_id, erased_contact_ids=erased_ids, reason=reason)
        )
        return erased_ids

    def _check_not_archived(self) -> None:
        if self.archived:
            raise ContactIsArchived(f"contact {self.contact_id} is archived")

    def _split(
        self, changes: dict[str, FieldChange]
    ) -> tuple[dict[str, FieldChange], Sealed | None]:
        """The non-personal changes, and the personal ones sealed (None when there are none)."""
        plain = {k: v for k, v in changes.items() if k not in PERSONAL_FIELDS}
        personal = {k: v.model_dump(mode="json") for k, v in changes.items() if k not in plain}
        return plain, self.cipher.seal(personal) if personal else None

    def _opened_changes(
        self, plain: dict[str, FieldChange], sealed: Sealed | None
    ) -> dict[str, Any]:
        """The new value of every changed field; personal ones only while the key exists."""
        new_values = {name: change.new for name, change in plain.items()}
        opened = self.cipher.open(sealed) if sealed else None
        for name, change in (opened or {}).items():
            new_values[name] = change.get("new")
        return new_values

    def _record(self, event: EventContract) -> None:
        self._apply(event)
        self.pending.append(event)

    def _apply(self, event: EventContract) -> None:
        if isinstance(event, ContactCreated):
            self.state = event.model_dump(mode="json", exclude={"contact_id", "personal"})
            self.state.update(self.cipher.open(event.personal) or ERASED)
        elif isinstance(event, ContactUpdated):
            self.state.update(self._opened_changes(event.changes, event.personal_changes))
        elif isinstance(event, ContactArchived):
            self.archived = True
        elif isinstance(event, ContactMerged):
            self.state.update(self._opened_changes(event.changes, event.personal_changes))
            self.merged_ids.append(event.merged_contact_id)
        elif isinstance(event, ContactErased):
            self.archived = self.erased = True
            self.state.update(ERASED)
        elif isinstance(event, ContactMergedInto):
            self.archived = True
            self.state["merged_into"] = event.survivor_id
        elif isinstance(event, ConsentChanged):
            self.consents[event.channel] = {
                "status": event.status,
                "lawful_basis": event.lawful_basis,
                "source": event.source,
            }

    def _as_details(self) -> dict[str, Any]:
        details = dict(self.state)
        details["emails"] = [
            e["address"] for e in self._primary_first(self.state.get("emails", []))
        ]
        details["phones"] = [p["number"] for p in self._primary_first(self.state.get("phones", []))]
        details["addresses"] = [
            {k: v for k, v in a.items() if k != "primary"}
            for a in self._primary_first(self.state.get("addresses", []))
        ]
        return details

    @staticmethod
    def _primary_first(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return sorted(items, key=lambda item: not item.get("primary"))


def _normalised(
    details: dict[str, Any],
    default_region: str | None,
    catalogue: FieldCatalogue | None,
    trusted_custom_fields: bool = False,
) -> dict[str, Any]:
    """Emails lower-cased and checked, phones E.164, the first of each primary; no duplicates."""
    last_name = (details.get("last_name") or "").strip()
    if not last_name:
        raise InvalidValue("last_name", "must not be empty")
    emails = list(dict.fromkeys(normalise_email(e) for e in details.get("emails") or []))
    phones = list(
        dict.fromkeys(normalise_phone(p, default_region) for p in details.get("phones") or [])
    )
    tags = sorted({t.strip().lower() for t in details.get("tags") or [] if t.strip()})
    first_name = (details.get("first_name") or "").strip() or None
    stage = details.get("lifecycle_stage") or "lead"
    if stage not in get_args(LifecycleStage):
        raise InvalidValue(
            "lifecycle_stage", f"must be one of {', '.join(get_args(LifecycleStage))}"
        )
    return {
        "first_name": first_name,
        "last_name": last_name,
        "emails": [
            EmailAddress(address=e, primary=i == 0).model_dump() for i, e in enumerate(emails)
        ],
        "phones": [
            PhoneNumber(number=p, primary=i == 0).model_dump() for i, p in enumerate(phones)
        ],
        "addresses": normalised_addresses(details.get("addresses") or []),
        "lifecycle_stage": stage,
        "owner_id": details.get("owner_id"),
        "tags": tags,
        "source": details.get("source"),
        "custom_fields": _custom_fields(
            details.get("custom_fields") or {}, catalogue, trusted_custom_fields
        ),
    }


ADDRESS_PARTS = ("line1", "line2", "city", "region", "postal_code")


def normalised_addresses(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    addresses = []
    for index, address in enumerate(raw):
        where = f"addresses[{index}]"
        unknown = set(address) - {*ADDRESS_PARTS, "country", "primary"}
        if unknown:
            raise InvalidValue(f"{where}.{sorted(unknown)[0]}", "is not part of an address")
        if not address.get("country"):
            raise InvalidValue(f"{where}.country", "is required")
        parts = {
            k: (str(address[k]).strip() or None) if address.get(k) else None for k in ADDRESS_PARTS
        }
        country = normalise_country(str(address["country"]), f"{where}.country")
        addresses.append(PostalAddress(**parts, country=country, primary=False).model_dump())
    unique = [dict(a) for a in {tuple(a.items()): a for a in addresses}.values()]
    for index, address in enumerate(unique):
        address["primary"] = index == 0
    return unique


def _custom_fields(
    values: dict[str, Any], catalogue: FieldCatalogue | None, trusted: bool
) -> dict[str, Any]:
    if trusted:
        return dict(values)
    return (catalogue or FieldCatalogue("")).check(values)
