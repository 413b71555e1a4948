"""Events of the contacts service, published on ``crm.contacts.events``, keyed by contact id.

Personal data (names, emails, phones, addresses, custom field values) travels only sealed under
the contact's own key (``crm_shared.privacy``): ``ContactCreated.personal`` opens to
``ContactPersonalData``; ``personal_changes`` open to ``{field: FieldChange}``. Subscribers get
a contact's key from the contacts API (``GET /privacy/keys/{contact_id}``) while it exists;
after erasure (``ContactErased``) it is gone and the sealed values stay unreadable forever.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import ConfigDict

from crm_shared.events import ContractModel, EventContract, EventRegistry
from crm_shared.privacy.sealing import Sealed, in_the_clear

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


class ContactCreatedV1(EventContract):
    # Before sealing: personal data in the clear (read as v2 with ``alg`` ``none``).
    model_config = ConfigDict(title="ContactCreated")

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


class ContactUpdatedV1(EventContract):
    """Only the fields that changed, each with its old and new value."""

    # Before sealing: every changed field in the clear.
    model_config = ConfigDict(title="ContactUpdated")

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


class ContactMergedV1(EventContract):
    """On the survivor: another contact was merged into it. Other services re-point their
    references from ``merged_contact_id`` to ``contact_id``."""

    # Before sealing: the survivor's changed fields in the clear.
    model_config = ConfigDict(title="ContactMerged")

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


PERSONAL_FIELDS = ("first_name", "last_name", "emails", "phones", "addresses", "custom_fields")
"""The fields of a contact that identify a person: only ever sealed in events."""


class ContactPersonalData(ContractModel):
    """What ``ContactCreated.personal`` opens to."""

    first_name: str | None = None
    last_name: str
    emails: list[EmailAddress] = []
    phones: list[PhoneNumber] = []
    addresses: list[PostalAddress] = []
    custom_fields: dict[str, Any] = {}
    """Values of the tenant's custom fields, by field name."""


class ContactCreated(EventContract):
    event_type: ClassVar[str] = "crm.contacts.contact.created"
    schema_version: ClassVar[int] = 2

    contact_id: str
    personal: Sealed
    """Opens to ``ContactPersonalData`` with the contact's key."""
    lifecycle_stage: LifecycleStage = "lead"
    owner_id: str | None = None
    tags: list[str] = []
    source: str | None = None


class ContactUpdated(EventContract):
    """Only the fields that changed, each with its old and new value."""

    event_type: ClassVar[str] = "crm.contacts.contact.updated"
    schema_version: ClassVar[int] = 2

    contact_id: str
    changes: dict[str, FieldChange] = {}
    """Changed fields that are not personal (stage, owner, tags, source)."""
    personal_changes: Sealed | None = None
    """Changed personal fields: opens to ``{field: FieldChange}`` with the contact's key."""


class ContactMerged(EventContract):
    """On the survivor: another contact was merged into it. Other services re-point their
    references from ``merged_contact_id`` to ``contact_id``."""

    event_type: ClassVar[str] = "crm.contacts.contact.merged"
    schema_version: ClassVar[int] = 2

    contact_id: str
    merged_contact_id: str
    changes: dict[str, FieldChange] = {}
    """The survivor's non-personal fields that took values from the merged contact."""
    personal_changes: Sealed | None = None
    """The survivor's personal fields that changed: opens to ``{field: FieldChange}``."""
    winners: dict[str, Literal["survivor", "merged", "both"]]
    """For every field, whose value the survivor now holds."""


ErasureReason = Literal["data_subject_request", "retention_expired", "other"]


class ContactErased(EventContract):
    """The contact's personal data is erased: its key is destroyed, so every sealed value in
    its events is unreadable from now on. Subscribers delete what they hold of the person
    (``erased_contact_ids``: this contact and any merged into it) and keep non-personal facts."""

    event_type: ClassVar[str] = "crm.contacts.contact.erased"
    schema_version: ClassVar[int] = 1

    contact_id: str
    erased_contact_ids: list[str]
    reason: ErasureReason = "data_subject_request"


class AccountCreated(EventContract):
    """An organisation (an account). Keyed by the account id; organisations' data is not
    personal, so nothing is sealed."""

    event_type: ClassVar[str] = "crm.contacts.account.created"
    schema_version: ClassVar[int] = 1

    account_id: str
    name: str
    domain: str | None = None
    """The organisation's web domain, lower-cased host: example.com."""
    industry: str | None = None
    owner_id: str | None = None
    tags: list[str] = []
    addresses: list[PostalAddress] = []
    parent_account_id: str | None = None


class AccountUpdated(EventContract):
    """Only the fields that changed, each with its old and new value."""

    event_type: ClassVar[str] = "crm.contacts.account.updated"
    schema_version: ClassVar[int] = 1

    account_id: str
    changes: dict[str, FieldChange]


class AccountArchived(EventContract):
    event_type: ClassVar[str] = "crm.contacts.account.archived"
    schema_version: ClassVar[int] = 1

    account_id: str
    reason: str | None = None


class AccountContactLinked(EventContract):
    """A person works at the organisation, in a role (linked again: the role changed)."""

    event_type: ClassVar[str] = "crm.contacts.account.contact_linked"
    schema_version: ClassVar[int] = 1

    account_id: str
    contact_id: str
    role: str | None = None
    primary: bool = False
    """The organisation's main contact."""


class AccountContactUnlinked(EventContract):
    event_type: ClassVar[str] = "crm.contacts.account.contact_unlinked"
    schema_version: ClassVar[int] = 1

    account_id: str
    contact_id: str


def _seal_created_v1(data: dict[str, Any]) -> dict[str, Any]:
    personal = {name: data.pop(name) for name in PERSONAL_FIELDS if name in data}
    return {**data, "personal": in_the_clear(data["contact_id"], personal).model_dump()}


def _seal_changes_v1(data: dict[str, Any]) -> dict[str, Any]:
    changes = data.get("changes", {})
    personal = {name: changes.pop(name) for name in PERSONAL_FIELDS if name in changes}
    if personal:
        data["personal_changes"] = in_the_clear(data["contact_id"], personal).model_dump()
    return data


REGISTRY = EventRegistry(
    [
        ContactCreatedV1,
        ContactCreated,
        ContactUpdatedV1,
        ContactUpdated,
        ContactArchived,
        ConsentChanged,
        ContactMergedV1,
        ContactMerged,
        ContactMergedInto,
        ContactErased,
        CustomFieldDefined,
        AccountCreated,
        AccountUpdated,
        AccountArchived,
        AccountContactLinked,
        AccountContactUnlinked,
    ],
    upcasters={
        ContactCreatedV1: _seal_created_v1,
        ContactUpdatedV1: _seal_changes_v1,
        ContactMergedV1: _seal_changes_v1,
    },
)
