"""Contracts: explicit classes per type and version; tolerant readers, strict producers."""

from __future__ import annotations

from typing import ClassVar

import pytest
from pydantic import TypeAdapter, ValidationError

from crm_shared.events import ContractModel, EventContract

from .examples import ContactCreated, EmailAddress


class TestReading:
    def test_readers_ignore_fields_added_by_newer_producers(self) -> None:
        data = {
            "contact_id": "c-1",
            "name": "Ada",
            "phone": "+44",
            "email": {"address": "a@x", "verified": True},
        }
        assert ContactCreated.model_validate(data) == ContactCreated(
            contact_id="c-1", name="Ada", email=EmailAddress(address="a@x")
        )

    def test_json_and_type_adapters_read_tolerantly_too(self) -> None:
        raw = '{"contact_id": "c-1", "name": "Ada", "added_later": 1}'
        assert ContactCreated.model_validate_json(raw).name == "Ada"
        assert TypeAdapter(ContactCreated).validate_json(raw).name == "Ada"

    def test_missing_required_fields_are_still_refused(self) -> None:
        with pytest.raises(ValidationError, match="name"):
            ContactCreated.model_validate({"contact_id": "c-1"})


class TestProducing:
    def test_a_misspelt_field_is_refused_not_dropped(self) -> None:
        with pytest.raises(ValidationError, match="emial"):
            ContactCreated(contact_id="c-1", name="Ada", emial="a@x")

    def test_a_misspelt_field_inside_nested_data_is_refused(self) -> None:
        with pytest.raises(ValidationError, match=r"email\.adress"):
            ContactCreated(contact_id="c-1", name="Ada", email={"adress": "a@x"})

    def test_nested_value_objects_are_strict_too(self) -> None:
        with pytest.raises(ValidationError, match="primry"):
            EmailAddress(address="a@x", primry=True)

    def test_not_a_number_cannot_enter_the_log(self) -> None:
        class Scored(ContractModel):
            score: float

        with pytest.raises(ValidationError, match="finite"):
            Scored(score=float("nan"))


def test_contracts_are_immutable() -> None:
    event = ContactCreated(contact_id="c-1", name="Ada")
    with pytest.raises(ValidationError, match="frozen"):
        event.name = "Grace"  # type: ignore[misc]


def test_a_contract_knows_its_type_version_and_dataschema() -> None:
    assert ContactCreated.key() == ("crm.contacts.contact.created", 1)
    assert ContactCreated.dataschema() == "urn:crm:schema:crm.contacts.contact.created:v1"


def test_the_classvar_spelling_works_as_well() -> None:
    class Archived(EventContract):
        event_type: ClassVar[str] = "crm.contacts.contact.archived"
        schema_version: ClassVar[int] = 1

        contact_id: str

    assert Archived.key() == ("crm.contacts.contact.archived", 1)
    assert "event_type" not in Archived.model_fields


def test_event_types_must_follow_the_naming_convention() -> None:
    with pytest.raises(TypeError, match="breaks the naming"):

        class Badly(EventContract):
            event_type = "ContactCreated"
            schema_version = 1


@pytest.mark.parametrize("version", [0, -1, True, "1"])
def test_schema_versions_are_positive_ints(version: object) -> None:
    with pytest.raises(TypeError, match="schema_version must be an int >= 1"):

        class Badly(EventContract):
            event_type = "crm.contacts.contact.created"
            schema_version = version  # type: ignore[assignment]


def test_a_contract_declares_both_type_and_version() -> None:
    with pytest.raises(TypeError, match="declare both"):

        class Half(EventContract):
            event_type = "crm.contacts.contact.created"


def test_a_base_declaring_neither_is_abstract() -> None:
    class ContactsEvent(EventContract):
        contact_id: str

    class Archived(ContactsEvent):
        event_type = "crm.contacts.contact.archived"
        schema_version = 1

    assert not ContactsEvent.is_concrete()
    assert Archived.is_concrete()


def test_a_new_version_may_derive_from_the_previous_one() -> None:
    class ContactCreatedV2(ContactCreated):
        schema_version = 2
        nickname: str | None = None

    assert ContactCreatedV2.key() == ("crm.contacts.contact.created", 2)
