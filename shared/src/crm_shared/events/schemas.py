"""JSON Schemas of the event contracts, and the rules that keep published ones compatible.

Other systems read ``shared/schemas/<event type>/v<N>.json``. Once published, a version's
schema may only grow: a new optional property, a wider enum, looser constraints. Anything else
(removing or renaming a property, changing its type, making it required, narrowing values) is
a new version with an upcaster. ``compatibility_problems`` says what a change breaks.

    python -m crm_shared.events.schemas write <module:registry> <directory>
    python -m crm_shared.events.schemas check <module:registry> <directory>
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from pathlib import Path
from typing import Any

from crm_shared.events.contracts import EventContract
from crm_shared.events.envelope import dataschema_for
from crm_shared.events.registry import EventRegistry

DRAFT = "https://json-schema.org/draft/2020-12/schema"
_TIGHTENING_MINIMA = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties")
_TIGHTENING_MAXIMA = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties")
_MUST_NOT_APPEAR = ("pattern", "format", "multipleOf")


def json_schema(contract: type[EventContract]) -> dict[str, Any]:
    schema = contract.model_json_schema(mode="serialization")
    return {
        "$schema": DRAFT,
        "$id": dataschema_for(contract.event_type, contract.schema_version),
        "x-event-type": contract.event_type,
        "x-schema-version": contract.schema_version,
        **schema,
    }


def schema_path(directory: Path, event_type: str, version: int) -> Path:
    return directory / event_type / f"v{version}.json"


def render(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_published_schemas(registry: EventRegistry, directory: Path) -> list[Path]:
    written = []
    for contract in registry:
        path = schema_path(directory, contract.event_type, contract.schema_version)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(render(json_schema(contract)))
        written.append(path)
    return written


def check_registry_against_published(registry: EventRegistry, directory: Path) -> list[str]:
    """Problems with the registry's contracts against the schemas published in ``directory``."""
    problems = []
    for path in sorted(directory.glob("*/v*.json")):
        event_type, version = path.parent.name, int(path.stem[1:])
        if (event_type, version) not in registry:
            problems.append(f"{event_type} v{version}: published, but no longer registered")
            continue
        current = json_schema(registry.resolve(event_type, version))
        published = json.loads(path.read_text())
        problems.extend(
            f"{event_type} v{version}: {problem}"
            for problem in compatibility_problems(published, current)
        )
    return problems


def compatibility_problems(published: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """What ``current`` breaks for producers and consumers of ``published`` data."""
    checker = _Checker(published, current)
    checker.compare(published, current, "$")
    return checker.problems


class _Checker:
    def __init__(self, published: dict[str, Any], current: dict[str, Any]) -> None:
        self.old_defs = published.get("$defs", {})
        self.new_defs = current.get("$defs", {})
        self.problems: list[str] = []
        self._seen: set[tuple[str, str]] = set()

    def resolve(self, schema: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[-1]
            schema = {**defs.get(name, {}), **{k: v for k, v in schema.items() if k != "$ref"}}
        return schema

    def compare(self, old: dict[str, Any], new: dict[str, Any], path: str) -> None:
        key = (json.dumps(old, sort_keys=True), json.dumps(new, sort_keys=True))
        if key in self._seen:
            return
        self._seen.add(key)
        old = self.resolve(old, self.old_defs)
        new = self.resolve(new, self.new_defs)
        old_alternatives = _alternatives(old)
        new_alternatives = _alternatives(new)
        if len(old_alternatives) > 1 or len(new_alternatives) > 1:
            self._compare_alternatives(old_alternatives, new_alternatives, path)
            return
        old_types, new_types = _types(old), _types(new)
        if old_types and new_types and not old_types <= new_types:
            missing = ", ".join(sorted(old_types - new_types))
            self.problems.append(f"{path}: no longer accepts type {missing}")
            return
        self._compare_constraints(old, new, path)
        if "object" in old_types or "properties" in old:
            self._compare_objects(old, new, path)
        if "items" in old and "items" in new:
            self.compare(old["items"], new["items"], f"{path}[]")

    def _compare_alternatives(
        self, old: list[dict[str, Any]], new: list[dict[str, Any]], path: str
    ) -> None:
        new_resolved = [self.resolve(n, self.new_defs) for n in new]
        for alternative in old:
            resolved = self.resolve(alternative, self.old_defs)
            candidates = [n for n in new_resolved if _types(n) & _types(resolved)] or [
                n for n in new_resolved if not _types(n)
            ]
            if not candidates:
                kinds = ", ".join(sorted(_types(resolved))) or "a published alternative"
                self.problems.append(f"{path}: no longer accepts {kinds}")
                continue
            before = len(self.problems)
            for candidate in candidates:
                del self.problems[before:]
                self.compare(resolved, candidate, path)
                if len(self.problems) == before:
                    break

    def _compare_constraints(self, old: dict[str, Any], new: dict[str, Any], path: str) -> None:
        old_values, new_values = _allowed_values(old), _allowed_values(new)
        if new_values is not None:
            if old_values is None:
                self.problems.append(f"{path}: values restricted to {new_values}")
            else:
                removed = [v for v in old_values if v not in new_values]
                if removed:
                    self.problems.append(f"{path}: enum no longer allows {removed}")
        for name in _TIGHTENING_MINIMA:
            if name in new and (name not in old or new[name] > old[name]):
                self.problems.append(f"{path}: {name} tightened to {new[name]}")
        for name in _TIGHTENING_MAXIMA:
            if name in new and (name not in old or new[name] < old[name]):
                self.problems.append(f"{path}: {name} tightened to {new[name]}")
        for name in _MUST_NOT_APPEAR:
            if name in new and old.get(name) != new[name]:
                self.problems.append(f"{path}: {name} changed to {new[name]!r}")

    def _compare_objects(self, old: dict[str, Any], new: dict[str, Any], path: str) -> None:
        old_properties = old.get("properties", {})
        new_properties = new.get("properties", {})
        old_required = set(old.get("required", []))
        new_required = set(new.get("required", []))
        for name, schema in old_properties.items():
            if name not in new_properties:
                self.problems.append(f"{path}.{name}: removed")
                continue
            if name in new_required and name not in old_required:
                self.problems.append(f"{path}.{name}: became required")
            self.compare(schema, new_properties[name], f"{path}.{name}")
        for name in new_properties.keys() - old_properties.keys():
            if name in new_required:
                self.problems.append(f"{path}.{name}: added as required (old events lack it)")
        if (
            new.get("additionalProperties") is False
            and old.get("additionalProperties") is not False
        ):
            self.problems.append(f"{path}: additionalProperties became false")


def _allowed_values(schema: dict[str, Any]) -> list[Any] | None:
    if "enum" in schema:
        return list(schema["enum"])
    if "const" in schema:
        return [schema["const"]]
    return None


def _alternatives(schema: dict[str, Any]) -> list[dict[str, Any]]:
    for keyword in ("anyOf", "oneOf"):
        if keyword in schema:
            return list(schema[keyword])
    return [schema]


def _types(schema: dict[str, Any]) -> set[str]:
    declared = schema.get("type")
    if declared is None:
        if "properties" in schema:
            return {"object"}
        return set()
    types = {declared} if isinstance(declared, str) else set(declared)
    if "number" in types:
        types.add("integer")  # every integer is a number: widening integer to number is fine
    return types


def _load_registry(target: str) -> EventRegistry:
    module_name, _, attribute = target.partition(":")
    registry = getattr(importlib.import_module(module_name), attribute or "REGISTRY")
    if not isinstance(registry, EventRegistry):
        raise TypeError(f"{target} is not an EventRegistry")
    return registry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m crm_shared.events.schemas")
    parser.add_argument("command", choices=["write", "check"])
    parser.add_argument("registry", help="module:attribute of an EventRegistry")
    parser.add_argument("directory", type=Path)
    args = parser.parse_args(argv)
    registry = _load_registry(args.registry)
    if args.command == "write":
        problems = check_registry_against_published(registry, args.directory)
        if problems:
            print("refusing to overwrite published schemas:", *problems, sep="\n  ")
            return 1
        for path in write_published_schemas(registry, args.directory):
            print(path)
        return 0
    problems = check_registry_against_published(registry, args.directory)
    print(*problems, sep="\n") if problems else print("compatible")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
