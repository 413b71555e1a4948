"""JSON Schemas (Draft 2020-12) of the event contracts, as other systems read them.

One file per event type and version: ``<directory>/<event type>/v<N>.json``, its ``$id`` the
version's ``dataschema`` URN, rendered stably (sorted keys, two-space indent, final newline) so
that a diff shows exactly what changed.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from crm_shared.events.contracts import EventContract
from crm_shared.events.registry import EventRegistry

DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"


def json_schema(contract: type[EventContract]) -> dict[str, Any]:
    """The JSON Schema of what producers of ``contract`` write (pydantic's serialization view).

    Open to unknown properties (no ``additionalProperties: false``): readers ignore them.
    """
    schema = contract.model_json_schema(mode="serialization")
    schema.setdefault("title", contract.__name__)
    return {
        **schema,
        "$schema": DRAFT_2020_12,
        "$id": contract.dataschema(),
        "x-event-type": contract.event_type,
        "x-schema-version": contract.schema_version,
    }


def render(schema: dict[str, Any]) -> str:
    """The stable text of a schema file."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def schema_path(directory: Path, event_type: str, version: int) -> Path:
    return directory / event_type / f"v{version}.json"


def write_published_schemas(registry: EventRegistry, directory: Path) -> list[Path]:
    """Write every registered version's schema; the files whose text changed are returned.

    It overwrites without asking: check compatibility first (the ``write`` command does).
    Files of versions no longer registered are left alone; they are never deleted.
    """
    written: list[Path] = []
    for contract in registry:
        path = schema_path(directory, contract.event_type, contract.schema_version)
        text = render(json_schema(contract))
        if path.exists() and path.read_text(encoding="utf-8") == text:
            continue
        _write_atomically(path, text)
        written.append(path)
    return written


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as file:
            file.write(text)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
