"""A published schema may only grow: the checker names every change that breaks readers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import ClassVar, Literal

import pytest

from crm_shared.events import EventContract, EventRegistry
from crm_shared.events.schemas import (
    check_registry_against_published,
    compatibility_problems,
    json_schema,
    main,
    write_published_schemas,
)

TYPE = "crm.contacts.contact.created"


def problems(old: type[EventContract], new: type[EventContract]) -> list[str]:
    return compatibility_problems(json_schema(old), json_schema(new))


class Published(EventContract):
    event_type: ClassVar[str] = TYPE
    schema_version: ClassVar[int] = 1

    contact_id: str
    name: str
    age: int | None = None
    stage: Literal["lead", "customer"] = "lead"
    tags: list[str] = []


def test_the_same_contract_is_compatible() -> None:
    assert problems(Published, Published) == []


def test_adding_an_optional_field_is_compatible() -> None:
    class WithPhone(Published):
        phone: str | None = None

    assert problems(Published, WithPhone) == []


def test_widening_an_enum_is_compatible() -> None:
    class MoreStages(EventContract):
        event_type: ClassVar[str] = TYPE
        schema_version: ClassVar[int] = 1
        contact_id: str
        name: str
        age: int | None = None
        stage: Literal["lead", "customer", "evangelist"] = "lead"
        tags: list[str] = []

    assert problems(Published, MoreStages) == []


def test_removing_a_field_is_reported() -> None:
    class WithoutAge(EventContract):
        event_type: ClassVar[str] = TYPE
        schema_version: ClassVar[int] = 1
        contact_id: str
        name: str
        stage: Literal["lead", "customer"] = "lead"
        tags: list[str] = []

    assert problems(Published, WithoutAge) == ["$.age: removed"]


def test_adding_a_required_field_is_reported() -> None:
    class WithOwner(Published):
        owner: str

    assert problems(Published, WithOwner) == ["$.owner: added as required (old events lack it)"]


def test_making_a_field_required_is_reported() -> None:
    class AgeRequired(EventContract):
        event_type: ClassVar[str] = TYPE
        schema_version: ClassVar[int] = 1
        contact_id: str
        name: str
        age: int
        stage: Literal["lead", "customer"] = "lead"
        tags: list[str] = []

    found = problems(Published, AgeRequired)
    assert "$.age: became required" in found
    assert "$.age: no longer accepts null" in found


def test_changing_a_type_is_reported() -> None:
    class NameAsNumber(EventContract):
        event_type: ClassVar[str] = TYPE
        schema_version: ClassVar[int] = 1
        contact_id: str
        name: int
        age: int | None = None
        stage: Literal["lead", "customer"] = "lead"
        tags: list[str] = []

    assert problems(Published, NameAsNumber) == ["$.name: no longer accepts type string"]


def test_narrowing_an_enum_is_reported() -> None:
    class FewerStages(EventContract):
        event_type: ClassVar[str] = TYPE
        schema_version: ClassVar[int] = 1
        contact_id: str
        name: str
        age: int | None = None
        stage: Literal["lead"] = "lead"
        tags: list[str] = []

    assert any("enum no longer allows ['customer']" in p for p in problems(Published, FewerStages))


def test_tightening_a_constraint_is_reported() -> None:
    old = {"type": "object", "properties": {"name": {"type": "string", "maxLength": 200}}}
    new = {"type": "object", "properties": {"name": {"type": "string", "maxLength": 50}}}
    assert compatibility_problems(old, new) == ["$.name: maxLength tightened to 50"]


def test_changes_inside_nested_definitions_are_reported() -> None:
    old = {
        "type": "object",
        "properties": {"address": {"$ref": "#/$defs/Address"}},
        "$defs": {"Address": {"type": "object", "properties": {"city": {"type": "string"}}}},
    }
    new = {
        "type": "object",
        "properties": {"address": {"$ref": "#/$defs/Address"}},
        "$defs": {"Address": {"type": "object", "properties": {}}},
    }
    assert compatibility_problems(old, new) == ["$.address.city: removed"]


def test_a_published_schema_directory_guards_a_registry(tmp_path: Path) -> None:
    write_published_schemas(EventRegistry([Published]), tmp_path)
    published = tmp_path / TYPE / "v1.json"
    assert json.loads(published.read_text())["$id"] == f"urn:crm:schema:{TYPE}:v1"

    class Additive(Published):
        phone: str | None = None

    assert check_registry_against_published(EventRegistry([Additive]), tmp_path) == []

    class Breaking(EventContract):
        event_type: ClassVar[str] = TYPE
        schema_version: ClassVar[int] = 1
        contact_id: str

    found = check_registry_against_published(EventRegistry([Breaking]), tmp_path)
    assert f"{TYPE} v1: $.name: removed" in found


def test_a_published_version_may_never_disappear(tmp_path: Path) -> None:
    write_published_schemas(EventRegistry([Published]), tmp_path)
    assert check_registry_against_published(EventRegistry([]), tmp_path) == [
        f"{TYPE} v1: published, but no longer registered"
    ]


REGISTRY = EventRegistry([Published])


def test_the_command_line_refuses_to_overwrite_with_a_breaking_change(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = f"{__name__}:REGISTRY"
    assert main(["write", target, str(tmp_path)]) == 0
    assert main(["check", target, str(tmp_path)]) == 0
    (tmp_path / TYPE / "v1.json").write_text(
        json.dumps({"type": "object", "properties": {"gone": {"type": "string"}}})
    )
    assert main(["check", target, str(tmp_path)]) == 1
    assert main(["write", target, str(tmp_path)]) == 1
    assert "$.gone: removed" in capsys.readouterr().out
