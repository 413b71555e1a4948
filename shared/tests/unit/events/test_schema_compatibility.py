"""A published schema may only grow: the checker names every change that breaks its events."""

from __future__ import annotations

from typing import Any, Literal

import pytest
from pydantic import BaseModel, Field

from crm_shared.events import ContractModel, EventContract, compatibility_problems, json_schema

TYPE = "crm.contacts.contact.created"


def problems(published: type[EventContract], current: type[EventContract]) -> list[str]:
    return compatibility_problems(json_schema(published), json_schema(current))


class Email(ContractModel):
    address: str
    primary: bool = False


class Published(EventContract):
    event_type = TYPE
    schema_version = 1

    contact_id: str
    name: str = Field(max_length=200)
    age: int | None = None
    stage: Literal["lead", "customer"] = "lead"
    score: int = 0
    tags: list[str] = []
    emails: list[Email] = []


class TestAdditiveChangesAreCompatible:
    def test_the_same_contract_is_compatible(self) -> None:
        assert problems(Published, Published) == []

    def test_adding_an_optional_field_is_compatible(self) -> None:
        class WithPhone(Published):
            phone: str | None = None

        assert problems(Published, WithPhone) == []

    def test_adding_an_optional_field_to_a_nested_object_is_compatible(self) -> None:
        class VerifiedEmail(ContractModel):
            address: str
            primary: bool = False
            verified: bool = False

        class WithVerifiedEmails(Published):
            emails: list[VerifiedEmail] = []  # type: ignore[assignment]

        assert problems(Published, WithVerifiedEmails) == []

    def test_widening_an_enum_is_compatible(self) -> None:
        class MoreStages(Published):
            stage: Literal["lead", "customer", "evangelist"] = "lead"  # type: ignore[assignment]

        assert problems(Published, MoreStages) == []

    def test_widening_an_integer_to_a_number_is_compatible(self) -> None:
        class FractionalScore(Published):
            score: float = 0  # type: ignore[assignment]

        assert problems(Published, FractionalScore) == []

    def test_loosening_a_constraint_is_compatible(self) -> None:
        class LongerNames(Published):
            name: str = Field(max_length=500)

        assert problems(Published, LongerNames) == []

    def test_accepting_another_type_as_well_is_compatible(self) -> None:
        class AgeAsTextToo(Published):
            age: int | str | None = None  # type: ignore[assignment]

        assert problems(Published, AgeAsTextToo) == []

    def test_documentation_may_change(self) -> None:
        class Documented(Published):
            """Created when a contact is first recorded."""

            contact_id: str = Field(title="Contact", description="The contact's id")

        assert problems(Published, Documented) == []


class TestBreakingChangesAreReported:
    def test_removing_a_field_is_reported(self) -> None:
        class WithoutAge(EventContract):
            event_type = TYPE
            schema_version = 1
            contact_id: str
            name: str = Field(max_length=200)
            stage: Literal["lead", "customer"] = "lead"
            score: int = 0
            tags: list[str] = []
            emails: list[Email] = []

        assert problems(Published, WithoutAge) == ["$.age: removed"]

    def test_renaming_a_field_is_reported_as_a_removal(self) -> None:
        class Renamed(EventContract):
            event_type = TYPE
            schema_version = 1
            id: str
            name: str = Field(max_length=200)
            age: int | None = None
            stage: Literal["lead", "customer"] = "lead"
            score: int = 0
            tags: list[str] = []
            emails: list[Email] = []

        assert problems(Published, Renamed) == [
            "$.contact_id: removed",
            "$.id: added as required (published events lack it)",
        ]

    def test_adding_a_required_field_is_reported(self) -> None:
        class WithOwner(Published):
            owner: str

        assert problems(Published, WithOwner) == [
            "$.owner: added as required (published events lack it)"
        ]

    def test_making_a_field_required_is_reported(self) -> None:
        class AgeRequired(Published):
            age: int

        assert problems(Published, AgeRequired) == [
            "$.age: became required",
            "$.age: no longer accepts null",
        ]

    def test_making_a_required_field_optional_is_reported(self) -> None:
        class NameOptional(Published):
            name: str = Field(default="", max_length=200)

        assert problems(Published, NameOptional) == [
            "$.name: no longer required (readers rely on it being there)"
        ]

    def test_changing_a_type_is_reported(self) -> None:
        class NameAsNumber(Published):
            name: int  # type: ignore[assignment]

        assert problems(Published, NameAsNumber) == ["$.name: type changed from string to integer"]

    def test_narrowing_a_number_to_an_integer_is_reported(self) -> None:
        class Money(EventContract):
            event_type = "crm.sales.deal.won"
            schema_version = 1
            amount: float

        class Cents(Money):
            amount: int

        assert problems(Money, Cents) == ["$.amount: type changed from number to integer"]

    def test_narrowing_an_enum_is_reported(self) -> None:
        class FewerStages(Published):
            stage: Literal["lead"] = "lead"

        assert problems(Published, FewerStages) == ["$.stage: enum no longer allows ['customer']"]

    def test_restricting_free_text_to_an_enum_is_reported(self) -> None:
        class KnownNames(Published):
            name: Literal["Ada", "Grace"]

        assert "$.name: values restricted to ['Ada', 'Grace']" in problems(Published, KnownNames)

    def test_restricting_what_accepted_anything_is_reported(self) -> None:
        class Loose(EventContract):
            event_type = "crm.sales.deal.won"
            schema_version = 1
            payload: Any = None

        class Tight(Loose):
            payload: str | None = None

        assert problems(Loose, Tight) == [
            "$.payload: restricted to null or string (anything was accepted)"
        ]

    def test_dropping_a_member_of_a_union_is_reported(self) -> None:
        class Wide(EventContract):
            event_type = "crm.sales.deal.won"
            schema_version = 1
            ref: int | str

        class Narrow(Wide):
            ref: str

        assert problems(Wide, Narrow) == ["$.ref: no longer accepts integer"]

    def test_changing_a_default_is_reported(self) -> None:
        class CustomerByDefault(Published):
            stage: Literal["lead", "customer"] = "customer"

        assert problems(Published, CustomerByDefault) == [
            '$.stage: default changed from "lead" to "customer" '
            "(published events without the property would read differently)"
        ]


@pytest.mark.parametrize(
    ("published", "current", "problem"),
    [
        ({"maxLength": 200}, {"maxLength": 50}, "maxLength tightened from 200 to 50"),
        ({}, {"maxLength": 50}, "maxLength 50 added"),
        ({"minLength": 1}, {"minLength": 2}, "minLength tightened from 1 to 2"),
        ({"pattern": "^a"}, {"pattern": "^ab"}, "pattern changed from '^a' to '^ab'"),
        ({}, {"pattern": "^a"}, "pattern '^a' added"),
        ({}, {"format": "email"}, "format 'email' added"),
    ],
)
def test_tightening_a_string_constraint_is_reported(
    published: dict[str, Any], current: dict[str, Any], problem: str
) -> None:
    def schema(constraints: dict[str, Any]) -> dict[str, Any]:
        return {"type": "object", "properties": {"name": {"type": "string", **constraints}}}

    assert compatibility_problems(schema(published), schema(current)) == [f"$.name: {problem}"]


@pytest.mark.parametrize(
    ("published", "current", "problem"),
    [
        ({"minimum": 0}, {"minimum": 1}, "minimum tightened from 0 to 1"),
        ({"maximum": 10}, {"maximum": 9}, "maximum tightened from 10 to 9"),
        ({}, {"exclusiveMinimum": 0}, "exclusiveMinimum 0 added"),
        ({"multipleOf": 1}, {"multipleOf": 5}, "multipleOf changed from 1 to 5"),
    ],
)
def test_tightening_a_numeric_constraint_is_reported(
    published: dict[str, Any], current: dict[str, Any], problem: str
) -> None:
    def schema(constraints: dict[str, Any]) -> dict[str, Any]:
        return {"type": "object", "properties": {"n": {"type": "integer", **constraints}}}

    assert compatibility_problems(schema(published), schema(current)) == [f"$.n: {problem}"]


def test_tightening_an_array_constraint_is_reported() -> None:
    class Tagged(EventContract):
        event_type = TYPE
        schema_version = 1
        tags: list[str] = []

    class FewUniqueTags(Tagged):
        tags: set[str] = Field(default_factory=set, max_length=3)  # type: ignore[assignment]

    assert problems(Tagged, FewUniqueTags) == [
        "$.tags: maxItems 3 added",
        "$.tags: uniqueItems added",
    ]


def test_closing_an_object_to_additional_properties_is_reported() -> None:
    published = {"type": "object", "properties": {"a": {"type": "string"}}}
    current = {**published, "additionalProperties": False}
    assert compatibility_problems(published, current) == ["$: additionalProperties became false"]


class TestNestedSchemas:
    def test_changes_behind_a_reference_are_reported_at_the_value_path(self) -> None:
        class Address(BaseModel):
            city: str
            street: str | None = None

        class Moved(EventContract):
            event_type = "crm.contacts.contact.moved"
            schema_version = 1
            address: Address

        class CityOnly(BaseModel):
            city: int

        class MovedCityOnly(Moved):
            address: CityOnly  # type: ignore[assignment]

        assert problems(Moved, MovedCityOnly) == [
            "$.address.city: type changed from string to integer",
            "$.address.street: removed",
        ]

    def test_changes_inside_array_items_are_reported(self) -> None:
        class Bare(ContractModel):
            primary: bool = False

        class WithoutAddresses(Published):
            emails: list[Bare] = []  # type: ignore[assignment]

        assert problems(Published, WithoutAddresses) == ["$.emails[*].address: removed"]

    def test_changes_inside_map_values_are_reported(self) -> None:
        class Change(ContractModel):
            old: str | None = None
            new: str | None = None

        class Updated(EventContract):
            event_type = "crm.contacts.contact.updated"
            schema_version = 1
            changes: dict[str, Change]

        class NewOnly(ContractModel):
            new: str | None = None

        class UpdatedNewOnly(Updated):
            changes: dict[str, NewOnly]  # type: ignore[assignment]

        assert problems(Updated, UpdatedNewOnly) == ["$.changes.*.old: removed"]

    def test_changes_inside_tuples_are_reported(self) -> None:
        class Located(EventContract):
            event_type = "crm.contacts.contact.located"
            schema_version = 1
            point: tuple[float, float]

        class Rounded(Located):
            point: tuple[float, int]

        assert problems(Located, Rounded) == ["$.point[1]: type changed from number to integer"]

    def test_optional_nested_objects_are_compared_inside(self) -> None:
        class Address(ContractModel):
            city: str

        class Moved(EventContract):
            event_type = "crm.contacts.contact.moved"
            schema_version = 1
            address: Address | None = None

        class Postcode(ContractModel):
            postcode: str | None = None

        class MovedPostcode(Moved):
            address: Postcode | None = None  # type: ignore[assignment]

        assert problems(Moved, MovedPostcode) == ["$.address.city: removed"]

    def test_recursive_definitions_are_compared_without_looping(self) -> None:
        class Node(ContractModel):
            name: str
            children: list[Node] = []

        class Tree(EventContract):
            event_type = "crm.support.topic.created"
            schema_version = 1
            root: Node

        class Unnamed(ContractModel):
            children: list[Unnamed] = []

        class UnnamedTree(Tree):
            root: Unnamed  # type: ignore[assignment]

        assert problems(Tree, UnnamedTree) == ["$.root.name: removed"]

    def test_union_members_are_matched_by_their_content(self) -> None:
        class Email(ContractModel):
            kind: Literal["email"] = "email"
            address: str

        class Phone(ContractModel):
            kind: Literal["phone"] = "phone"
            number: str

        class Reached(EventContract):
            event_type = "crm.marketing.contact.reached"
            schema_version = 1
            channel: Email | Phone

        class BarePhone(ContractModel):
            kind: Literal["phone"] = "phone"

        class ReachedBarePhone(Reached):
            channel: Email | BarePhone  # type: ignore[assignment]

        assert problems(Reached, ReachedBarePhone) == ["$.channel.number: removed"]

    def test_an_unresolvable_reference_is_reported(self) -> None:
        published = {"type": "object", "properties": {"a": {"type": "string"}}}
        current = {"type": "object", "properties": {"a": {"$ref": "#/$defs/Gone"}}}
        assert compatibility_problems(published, current) == [
            "$.a: cannot resolve $ref #/$defs/Gone"
        ]


def test_property_names_that_are_not_identifiers_are_quoted_in_the_path() -> None:
    published = {"type": "object", "properties": {"e-mail": {"type": "string"}}}
    assert compatibility_problems(published, {"type": "object"}) == ['$["e-mail"]: removed']
