"""Events of the contacts service, published on ``crm.contacts.events``, keyed by contact id."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from crm_shared.events import ContractModel, EventContract, EventRegistry

LifecycleStage = Literal[
    "subscriber",
    "lead",
    "marketing_qualified",
    "sales_qualified",
    "opportunity",
    "customer",
    "evangelist",
    "other",
]


class EmailAddress(ContractModel):
    address: str
    primary: bool = False


class PhoneNumber(ContractModel):
    number: str
    """E.164, e.g. +442071838750."""
    primary: bool = False


class PostalAddress(ContractModel):
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str
    """ISO 3166-1 alpha-2, e.g. GB."""
    primary: bool = False


class ContactCreated(EventContract):
    event_type: ClassVar[str] = "crm.contacts.contact.created"
    schema_version: ClassVar[int] = 1

    contact_id: str
    first_name: str | None = None
    last_name: str
    emails: list[EmailAddress] = []
    phones: list[PhoneNumber] = []
    addresses: list[PostalAddress] = []
    lifecycle_stage: LifecycleStage = "lead"
    owner_id: str | None = None
    tags: list[str] = []
    source: str | None = None
    custom_fields: dict[str, Any] = {}
    """Values of the tenant's custom fields, by field name."""


class FieldChange(ContractModel):
    old: Any = None
    new: Any = None


class ContactUpdated(EventContract):
    """Only the fields that changed, each with its old and new value."""

    event_type: ClassVar[str] = "crm.contacts.contact.updated"
    schema_version: ClassVar[int] = 1

    contact_id: str
    changes: dict[str, FieldChange]


class ContactArchived(EventContract):
    event_type: ClassVar[str] = "crm.contacts.contact.archived"
    schema_version: ClassVar[int] = 1

    contact_id: str
    reason: str | None = None


ConsentChannel = Literal["email", "phone", "sms"]
ConsentStatus = Literal["granted", "withdrawn"]
LawfulBasis = Literal[
    "consent",
    "contract",
    "legal_obligation",
    "vital_interests",
    "public_task",
    "legitimate_interests",
]


class ConsentChanged(EventContract):
    """A contact's consent for one channel; the event's time is when it was given or withdrawn."""

    event_type: ClassVar[str] = "crm.contacts.consent.changed"
    schema_version: ClassVar[int] = 1

    contact_id: str
    channel: ConsentChannel
    status: ConsentStatus
    lawful_basis: LawfulBasis
    source: str
    """Where the consent was captured: a form, a call, an import..."""


CustomFieldType = Literal["text", "number", "date", "boolean", "choice", "multi_choice"]


class CustomFieldDefined(EventContract):
    """A tenant's custom field for contacts, defined or changed (the newest definition holds).

    Keyed by tenant: definitions concern no one customer.
    """

    event_type: ClassVar[str] = "crm.contacts.custom_field.defined"
    schema_version: ClassVar[int] = 1

    tenant_id: str
    name: str
    label: str
    field_type: CustomFieldType
    choices: list[str] = []
    required: bool = False


class ContactMerged(EventContract):
    """On the survivor: another contact was merged into it. Other services re-point their
    references from ``merged_contact_id`` to ``contact_id``."""

    event_type: ClassVar[str] = "crm.contacts.contact.merged"
    schema_version: ClassVar[int] = 1

    contact_id: str
    merged_contact_id: str
    changes: dict[str, FieldChange]
    """The survivor's fields that took values from the merged contact."""
    winners: dict[str, Literal["survivor", "merged", "both"]]
    """For every field, whose value the survivor now holds."""


class ContactMergedInto(EventContract):
    """On the merged contact: it now lives on as ``survivor_id`` and accepts no changes."""

    event_type: ClassVar[str] = "crm.contacts.contact.merged_into"
    schema_version: ClassVar[int] = 1

    contact_id: str
    survivor_id: str


REGISTRY = EventRegistry(
    [
        ContactCreated,
        ContactUpdated,
        ContactArchived,
        ConsentChanged,
        ContactMerged,
        ContactMergedInto,
        CustomFieldDefined,
    ]
)
