"""Commands: what a caller asks the contacts service to do."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from crm_contacts.domain.contact import ContactDetails
from crm_shared.caller import Caller

__all__ = ["Caller"]
from crm_shared.contracts.contacts import ErasureReason


@dataclass(frozen=True)
class CreateContact:
    caller: Caller
    details: ContactDetails
    works_at: tuple[str, str | None] | None = None
    """(account id, role): the organisation the person works at, linked in the same write."""
    idempotency_key: str | None = None
    """A retry with the same key gets the contact the first request created."""


@dataclass(frozen=True)
class UpdateContact:
    caller: Caller
    contact_id: str
    expected_version: int
    changes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ArchiveContact:
    caller: Caller
    contact_id: str
    expected_version: int
    reason: str | None = None


@dataclass(frozen=True)
class ChangeConsent:
    caller: Caller
    contact_id: str
    expected_version: int
    channel: str
    status: str
    lawful_basis: str
    source: str


@dataclass(frozen=True)
class MergeContacts:
    caller: Caller
    survivor_id: str
    survivor_version: int
    duplicate_id: str
    duplicate_version: int


@dataclass(frozen=True)
class DefineCustomField:
    caller: Caller
    name: str
    label: str
    field_type: str
    choices: list[str] = field(default_factory=list)
    required: bool = False


@dataclass(frozen=True)
class EraseContact:
    """Erase the person's personal data (the right to be forgotten); no version needed: a
    data subject's request must succeed whatever was written meanwhile."""

    caller: Caller
    contact_id: str
    reason: ErasureReason = "data_subject_request"
