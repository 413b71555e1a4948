"""Event types are named crm.<service>.<entity>.<verb>; schema versions by a URN."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm_shared.events import dataschema_for, parse_dataschema

from .strategies import event_types


def test_the_dataschema_names_type_and_version() -> None:
    assert dataschema_for("crm.contacts.contact.created", 2) == (
        "urn:crm:schema:crm.contacts.contact.created:v2"
    )


@given(event_type=event_types, version=st.integers(min_value=1, max_value=10**9))
def test_a_dataschema_parses_back_to_its_type_and_version(event_type: str, version: int) -> None:
    assert parse_dataschema(dataschema_for(event_type, version)) == (event_type, version)


@pytest.mark.parametrize(
    "dataschema",
    [
        "urn:crm:schema:crm.contacts.contact.created:v0",
        "urn:crm:schema:crm.contacts.contact.created:1",
        "urn:crm:schema:crm.contacts.contact.created",
        "urn:crm:schema:ContactCreated:v1",
        "urn:crm:schema:crm.contacts.contact.created:v1\n",
        "https://example.com/schema.json",
    ],
)
def test_anything_else_is_not_a_dataschema(dataschema: str) -> None:
    with pytest.raises(ValueError, match="urn:crm:schema"):
        parse_dataschema(dataschema)


@pytest.mark.parametrize(("event_type", "version"), [("Contact", 1), ("crm.a.b.c", 0)])
def test_a_dataschema_is_only_built_from_a_valid_type_and_version(
    event_type: str, version: int
) -> None:
    with pytest.raises(ValueError, match="must"):
        dataschema_for(event_type, version)
