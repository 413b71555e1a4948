"""The contact aggregate: it changes state only by applying events, which it records."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, get_args

from pydantic import ValidationError

from crm_contacts.domain.custom_fields import FieldCatalogue
from crm_contacts.domain.errors import ContactIsArchived, InvalidValue
from crm_contacts.domain.values import normalise_country, normalise_email, normalise_phone
from crm_shared.contracts.contacts import (
    ConsentChanged,
    ContactArchived,
    ContactCreated,
    ContactMerged,
    ContactMergedInto,
    ContactUpdated,
    EmailAddress,
    FieldChange,
    LifecycleStage,
    PhoneNumber,
    PostalAddress,
)
from crm_shared.events import EventContract

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
    version: int = 0
    state: dict[str, Any] = field(default_factory=dict)
    archived: bool = False
    consents: dict[str, dict[str, str]] = field(default_factory=dict)
    pending: list[EventContract] = field(default_factory=list)

    @classmethod
    def from_history(cls, contact_id: str, history: list[EventContract]) -> Contact:
        contact = cls(contact_id)
        for event in history:
            contact._apply(event)
            contact.version += 1
        return contact

    @classmethod
    def create(
        cls,
        contact_id: str,
        details: ContactDetails,
        default_region: str | None = None,
        catalogue: FieldCatalogue | None = None,
    ) -> Contact:
        contact = cls(contact_id)
        fields = _normalised(details.__dict__, default_region, catalogue)
        contact._record(ContactCreated(contact_id=contact_id, **fields))
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
            self._record(ContactUpdated(contact_id=self.contact_id, changes=diff))

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
        self._record(
            ContactMerged(
                contact_id=self.contact_id,
                merged_contact_id=other.contact_id,
                changes=changes,
                winners=winners,
            )
        )
        other._record(ContactMergedInto(contact_id=other.contact_id, survivor_id=self.contact_id))

    def archive(self, reason: str | None = None) -> None:
        self._check_not_archived()
        self._record(ContactArchived(contact_id=self.contact_id, reason=reason))

    def _check_not_archived(self) -> None:
        if self.archived:
            raise ContactIsArchived(f"contact {self.contact_id} is archived")

    def _record(self, event: EventContract) -> None:
        self._apply(event)
        self.pending.append(event)

    def _apply(self, event: EventContract) -> None:
        if isinstance(event, ContactCreated):
            self.state = event.model_dump(mode="json", exclude={"contact_id"})
        elif isinstance(event, ContactUpdated):
            for name, change in event.changes.items():
                self.state[name] = change.new
        elif isinstance(event, ContactArchived):
            self.archived = True
        elif isinstance(event, ContactMerged):
            for name, change in event.changes.items():
                self.state[name] = change.new
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
        "addresses": _addresses(details.get("addresses") or []),
        "lifecycle_stage": stage,
        "owner_id": details.get("owner_id"),
        "tags": tags,
        "source": details.get("source"),
        "custom_fields": _custom_fields(
            details.get("custom_fields") or {}, catalogue, trusted_custom_fields
        ),
    }


ADDRESS_PARTS = ("line1", "line2", "city", "region", "postal_code")


def _addresses(raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
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
