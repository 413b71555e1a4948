"""Request and response bodies of the contacts API (Create, Update and Read apart)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from crm_shared.contracts.contacts import (
    ConsentChannel,
    ConsentStatus,
    CustomFieldType,
    ErasureReason,
    LawfulBasis,
    LifecycleStage,
)


class AddressIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line1: str | None = Field(None, max_length=200)
    line2: str | None = Field(None, max_length=200)
    city: str | None = Field(None, max_length=100)
    region: str | None = Field(None, max_length=100)
    postal_code: str | None = Field(None, max_length=20)
    country: str = Field(min_length=2, max_length=60, description="ISO 3166 code or name")


class WorksAt(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account_id: str
    role: str | None = Field(None, max_length=200)


class ContactCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first_name: str | None = Field(None, max_length=200)
    last_name: str = Field(min_length=1, max_length=200)
    emails: list[str] = Field(default_factory=list, max_length=20, description="First = primary")
    phones: list[str] = Field(default_factory=list, max_length=20, description="First = primary")
    addresses: list[AddressIn] = Field(default_factory=list, max_length=10)
    lifecycle_stage: LifecycleStage = "lead"
    owner_id: str | None = None
    tags: list[str] = Field(default_factory=list, max_length=100)
    source: str | None = None
    custom_fields: dict[str, Any] = Field(
        default_factory=dict, description="Values of the tenant's custom fields, by name"
    )
    works_at: WorksAt | None = Field(
        None, description="The organisation the person works at, linked with the contact"
    )


class ContactUpdate(BaseModel):
    """Only the fields given are changed."""

    model_config = ConfigDict(extra="forbid")

    first_name: str | None = Field(None, max_length=200)
    last_name: str | None = Field(None, min_length=1, max_length=200)
    emails: list[str] | None = Field(None, max_length=20)
    phones: list[str] | None = Field(None, max_length=20)
    addresses: list[AddressIn] | None = Field(None, max_length=10)
    lifecycle_stage: LifecycleStage | None = None
    owner_id: str | None = None
    tags: list[str] | None = Field(None, max_length=100)
    source: str | None = None
    custom_fields: dict[str, Any] | None = Field(
        None, description="Only the fields named change; null clears one"
    )


class ContactRead(BaseModel):
    id: str
    version: int
    archived: bool
    first_name: str | None
    last_name: str | None = Field(description="null only once the contact is erased")
    emails: list[dict[str, Any]]
    phones: list[dict[str, Any]]
    addresses: list[dict[str, Any]] = Field(default_factory=list)
    lifecycle_stage: str
    owner_id: str | None
    tags: list[str]
    source: str | None
    merged_into: str | None = Field(None, description="The contact this one was merged into")
    erased: bool = Field(False, description="Personal data erased (right to be forgotten)")
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    consents: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Current consent per channel"
    )
    created_at: datetime | None = None
    updated_at: datetime | None = None


class ContactPage(BaseModel):
    items: list[ContactRead]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null: end")


class HistoryEntry(BaseModel):
    version: int
    event_type: str
    actor: str
    at: datetime
    changes: dict[str, dict[str, Any]]


class ArchiveRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(None, max_length=500)


class ConsentChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: ConsentStatus
    lawful_basis: LawfulBasis
    source: str = Field(min_length=1, max_length=200, description="Where it was captured")


class ConsentEntry(BaseModel):
    channel: ConsentChannel
    status: ConsentStatus
    lawful_basis: LawfulBasis
    source: str
    actor: str
    at: datetime


class Consents(BaseModel):
    current: dict[str, ConsentEntry]
    history: list[ConsentEntry]


class LikelyDuplicateRead(BaseModel):
    id: str
    score: float = Field(ge=0, le=1, description="1: same email; 0.9: same phone; names below")
    reasons: list[str]


class ContactCreatedRead(ContactRead):
    likely_duplicates: list[LikelyDuplicateRead] = Field(
        default_factory=list, description="Existing contacts that are probably the same person"
    )


class MergeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    duplicate_id: str = Field(min_length=1)
    duplicate_version: int = Field(ge=1, description="The duplicate's ETag, as last read")


class CustomFieldDefinition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(min_length=1, max_length=200)
    field_type: CustomFieldType
    choices: list[str] = Field(default_factory=list, max_length=500)
    required: bool = False


class CustomFieldRead(CustomFieldDefinition):
    name: str


class ErasureRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: ErasureReason = "data_subject_request"


class DataKeyRead(BaseModel):
    subject_id: str = Field(description="The contact id: the key_id of its sealed values")
    alg: Literal["A256GCM"] = "A256GCM"
    key: str = Field(description="The AES-256 data key, base64")
