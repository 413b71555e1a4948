"""Custom fields: defined per tenant, their type fixed, their choices only growing."""

from __future__ import annotations

import pytest

from crm_contacts.domain.custom_fields import FieldCatalogue
from crm_contacts.domain.errors import InvalidValue


def catalogue() -> FieldCatalogue:
    fields = FieldCatalogue("tenant-1")
    fields.define("industry", "Industry", "choice", ["aerospace", "banking"], required=False)
    fields.define("employees", "Employees", "number", [], required=False)
    fields.define("renewal", "Renewal date", "date", [], required=False)
    fields.define("vip", "VIP", "boolean", [], required=False)
    fields.define("regions", "Regions", "multi_choice", ["emea", "apac", "amer"], required=False)
    return fields


def test_values_are_checked_and_normalised() -> None:
    checked = catalogue().check(
        {
            "industry": "banking",
            "employees": 120,
            "renewal": "2027-01-31",
            "vip": True,
            "regions": ["apac", "emea", "apac"],
        }
    )
    assert checked["regions"] == ["emea", "apac"]  # in the order of the choices, once each
    assert checked["renewal"] == "2027-01-31"


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"industry": "farming"}, "custom_fields.industry"),
        ({"employees": "many"}, "custom_fields.employees"),
        ({"employees": True}, "custom_fields.employees"),
        ({"renewal": "31/01/2027"}, "custom_fields.renewal"),
        ({"vip": "yes"}, "custom_fields.vip"),
        ({"regions": ["mars"]}, "custom_fields.regions"),
        ({"colour": "red"}, "custom_fields.colour"),
    ],
)
def test_a_bad_value_names_the_field(values: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        catalogue().check(values)
    assert refused.value.field == field


def test_a_required_field_must_have_a_value() -> None:
    fields = catalogue()
    fields.define("account_manager", "Account manager", "text", [], required=True)
    with pytest.raises(InvalidValue, match="required"):
        fields.check({})


def test_a_fields_type_never_changes_and_its_choices_only_grow() -> None:
    fields = catalogue()
    with pytest.raises(InvalidValue, match="choice field"):
        fields.define("industry", "Industry", "text", [], required=False)
    with pytest.raises(InvalidValue, match="cannot be removed"):
        fields.define("industry", "Industry", "choice", ["aerospace"], required=False)
    grown = fields.define(
        "industry", "Sector", "choice", ["aerospace", "banking", "retail"], required=False
    )
    assert grown is not None
    assert grown.choices == ["aerospace", "banking", "retail"]


def test_defining_a_field_exactly_as_it_stands_records_nothing() -> None:
    fields = catalogue()
    assert fields.define("vip", "VIP", "boolean", [], required=False) is None


@pytest.mark.parametrize("name", ["Industry", "1st", "with-dash", ""])
def test_field_names_are_plain_identifiers(name: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        FieldCatalogue("t").define(name, "x", "text", [], required=False)
    assert refused.value.field == "name"
