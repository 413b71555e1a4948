"""A registry checked against the schemas already published: they may only grow, never vanish."""

from __future__ import annotations

import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crm_shared.events.naming import EVENT_TYPE, service_of
from crm_shared.events.registry import EventRegistry
from crm_shared.events.schemas.compatibility import compatibility_problems
from crm_shared.events.schemas.export import json_schema, schema_path

_VERSION_FILE = re.compile(r"\Av(?P<version>[1-9][0-9]*)\.json\Z")


@dataclass(frozen=True, slots=True)
class PublishedSchema:
    event_type: str
    version: int
    path: Path


def published_schemas(
    directory: Path, services: Collection[str] | None = None
) -> tuple[list[PublishedSchema], list[str]]:
    """The published schema files (of ``services`` only, if given), and misplaced files."""
    found: list[PublishedSchema] = []
    strays: list[str] = []
    for path in sorted(directory.glob("*/*.json")):
        event_type = path.parent.name
        match = _VERSION_FILE.match(path.name)
        if not EVENT_TYPE.match(event_type) or match is None:
            strays.append(f"{path}: not <event type>/v<N>.json")
            continue
        if services is None or service_of(event_type) in services:
            found.append(PublishedSchema(event_type, int(match["version"]), path))
    return found, strays


def check_registry_against_published(
    registry: EventRegistry, directory: Path, services: Collection[str] | None = None
) -> list[str]:
    """Problems of ``registry`` with the schemas published in ``directory``; [] if none.

    Every published version must still be registered (a published version never disappears)
    and its current schema must be compatible with the published one. Registered versions not
    yet published are fine (``unpublished`` lists them). With ``services``, only published
    files of those services are considered (one directory may hold every service's schemas).
    """
    published, problems = published_schemas(directory, services)
    for entry in published:
        label = f"{entry.event_type} v{entry.version}"
        if (entry.event_type, entry.version) not in registry:
            problems.append(f"{label}: published, but no longer registered")
            continue
        try:
            document = _load(entry.path)
        except ValueError as error:
            problems.append(f"{label}: {entry.path} is not a JSON Schema object: {error}")
            continue
        current = json_schema(registry.resolve(entry.event_type, entry.version))
        problems += [f"{label}: {p}" for p in compatibility_problems(document, current)]
    return problems


def unpublished(registry: EventRegistry, directory: Path) -> list[str]:
    """The registered versions without a published schema file, as ``<type> v<N>``."""
    return [
        f"{contract.event_type} v{contract.schema_version}"
        for contract in registry
        if not schema_path(directory, contract.event_type, contract.schema_version).exists()
    ]


def _load(path: Path) -> dict[str, Any]:
    document = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(document, dict):
        raise ValueError("the file holds no JSON object")
    return document
