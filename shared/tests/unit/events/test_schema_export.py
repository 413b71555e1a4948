"""Every contract version is published as a JSON Schema (Draft 2020-12) named by its dataschema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from crm_shared.events import ContractModel, EventContract, EventRegistry, json_schema
from crm_shared.events.schemas import render, write_published_schemas

from .examples import ContactCreated, StageChanged
from .widgets import PUBLISHED

FIXTURE = Path(__file__).parent / "published"


def all_keys(node: Any) -> set[str]:
    if isinstance(node, dict):
        return set(node) | {k for value in node.values() for k in all_keys(value)}
    if isinstance(node, list):
        return {k for value in node for k in all_keys(value)}
    return set()


def test_the_schema_is_draft_2020_12_identified_by_the_dataschema_urn() -> None:
    schema = json_schema(ContactCreated)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == "urn:crm:schema:crm.contacts.contact.created:v1"
    assert schema["title"] == "ContactCreated"
    assert schema["x-event-type"] == "crm.contacts.contact.created"
    assert schema["x-schema-version"] == 1


def test_the_schema_describes_the_fields_and_what_is_required() -> None:
    schema = json_schema(StageChanged)
    assert schema["required"] == ["stage", "amount"]
    assert schema["properties"]["stage"]["enum"] == ["lead", "won", "lost"]


def test_the_schema_stays_open_to_properties_added_later() -> None:
    assert "additionalProperties" not in all_keys(json_schema(ContactCreated))


def test_a_recursive_contract_still_has_a_title() -> None:
    class Node(ContractModel):
        children: list[Node] = []

    class Topic(EventContract):
        event_type = "crm.support.topic.created"
        schema_version = 1
        root: Node

    assert json_schema(Topic)["title"] == "Topic"


def test_one_file_is_written_per_event_type_and_version(tmp_path: Path) -> None:
    written = write_published_schemas(EventRegistry([ContactCreated, StageChanged]), tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == [
        "crm.contacts.contact.created/v1.json",
        "crm.sales.opportunity.stage_changed/v1.json",
    ]


def test_files_are_rendered_stably(tmp_path: Path) -> None:
    registry = EventRegistry([ContactCreated])
    [path] = write_published_schemas(registry, tmp_path)
    text = path.read_text()
    assert text == render(json.loads(text))
    assert text.endswith("}\n")
    assert text.startswith('{\n  "$defs"')  # sorted keys, two spaces
    assert write_published_schemas(registry, tmp_path) == []  # unchanged: not rewritten


def test_published_files_are_never_deleted(tmp_path: Path) -> None:
    write_published_schemas(EventRegistry([ContactCreated, StageChanged]), tmp_path)
    write_published_schemas(EventRegistry([ContactCreated]), tmp_path)
    assert (tmp_path / "crm.sales.opportunity.stage_changed" / "v1.json").exists()


def test_the_fixture_directory_holds_what_the_published_registry_writes(tmp_path: Path) -> None:
    write_published_schemas(PUBLISHED, tmp_path)
    for path in FIXTURE.glob("*/*.json"):
        assert path.read_text() == (tmp_path / path.relative_to(FIXTURE)).read_text()
