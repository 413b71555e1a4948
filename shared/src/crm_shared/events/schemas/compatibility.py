"""Whether a contract's current JSON Schema still honours the published one.

Events are immutable and read forever, by consumers deployed before and after a change. So a
published schema may only grow:

- a published property stays: it may not be removed (renaming is removing), change its type,
  become required, or stop being required (readers rely on it being there);
- its values may widen but not narrow: no value dropped from an ``enum``/``const``, no
  tightened or added ``minimum``/``maximum``/``min*``/``max*``/``multipleOf``/``uniqueItems``,
  no new or changed ``pattern`` or ``format``, no restriction where anything was accepted;
- its ``default`` stays (old events that lack the property would read differently);
- a new property is optional; ``additionalProperties`` never becomes ``false``;
- the same holds inside nested objects, ``$defs`` behind ``$ref``, array items, tuples, maps
  (``additionalProperties`` schemas) and alternatives (``anyOf``/``oneOf``, ``Optional``).

Widening (a new enum value, a looser constraint, ``integer`` to ``number``) passes: events
already written stay valid. Readers that validate strictly must be deployed before producers
write the new values.

Each problem reads ``<JSONPath of the value>: <what changed>``, e.g. ``$.emails[*].address:
removed``.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["compatibility_problems"]

_MINIMA = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties", "minContains")
_MAXIMA = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties", "maxContains")
_EXACT = ("pattern", "format", "multipleOf", "contentEncoding", "contentMediaType")
_ANNOTATIONS = frozenset(
    ("title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly")
)
_IDENTIFIER = re.compile(r"\A[A-Za-z_][A-Za-z0-9_]*\Z")

Schema = dict[str, Any] | bool


def compatibility_problems(published: dict[str, Any], current: dict[str, Any]) -> list[str]:
    """What ``current`` breaks for the producers and readers of ``published`` data; [] if none."""
    return _Comparison(published, current).compare(published, current, "$")


class _Comparison:
    def __init__(self, published: dict[str, Any], current: dict[str, Any]) -> None:
        self._old_root = published
        self._new_root = current
        self._active: set[tuple[tuple[str, ...], tuple[str, ...]]] = set()

    def compare(self, old: Schema, new: Schema, path: str) -> list[str]:
        """Problems of ``new`` against ``old`` for the value at ``path``."""
        old_resolved, old_refs = _resolve(old, self._old_root)
        new_resolved, new_refs = _resolve(new, self._new_root)
        for refs, resolved in ((old_refs, old_resolved), (new_refs, new_resolved)):
            if resolved is None:
                return [f"{path}: cannot resolve $ref {refs[-1]}"]
        assert old_resolved is not None
        assert new_resolved is not None
        cycle = (tuple(old_refs), tuple(new_refs))
        if (old_refs or new_refs) and cycle in self._active:
            return []  # a recursive definition, already being compared further up
        self._active.add(cycle)
        try:
            return self._compare_resolved(old_resolved, new_resolved, path)
        finally:
            self._active.discard(cycle)

    def _compare_resolved(self, old: Schema, new: Schema, path: str) -> list[str]:
        if old is False:
            return []  # nothing was accepted: nothing to keep accepting
        if new is False:
            return [f"{path}: accepts nothing any more"]
        old = {} if old is True else old
        new = {} if new is True else new
        problems = _default_problems(old, new, path)
        old_branches, new_branches = _branches(old), _branches(new)
        if len(old_branches) == 1 and len(new_branches) == 1:
            old_branch, new_branch = old_branches[0], new_branches[0]
            if "$ref" in old_branch or "$ref" in new_branch:  # a lone anyOf member
                return problems + self.compare(old_branch, new_branch, path)
            return problems + self._compare_branch(old_branch, new_branch, path)
        for branch in old_branches:
            problems += self._compare_alternative(branch, new_branches, path)
        return problems

    def _compare_alternative(
        self, old: dict[str, Any], new_branches: list[dict[str, Any]], path: str
    ) -> list[str]:
        """Problems of the new alternative that best accepts the old one."""
        old_types = _types(_peek(old, self._old_root))
        new_types = [_types(_peek(n, self._new_root)) for n in new_branches]
        candidates = [
            n for n, t in zip(new_branches, new_types, strict=True) if t and _overlap(old_types, t)
        ]
        candidates += [n for n, t in zip(new_branches, new_types, strict=True) if not t]
        if old_types and not candidates:
            return [f"{path}: no longer accepts {_kinds(old_types)}"]
        if not old_types and not candidates:
            return [_restricted(path, old, set().union(*new_types))]
        best: list[str] | None = None
        for candidate in candidates:
            found = self.compare(old, candidate, path)
            if not found:
                return []
            if best is None or len(found) < len(best):
                best = found
        return best or []

    def _compare_branch(self, old: dict[str, Any], new: dict[str, Any], path: str) -> list[str]:
        old_types, new_types = _types(old), _types(new)
        if new_types and not old_types:
            return [_restricted(path, old, new_types)]
        if new_types and not all(_accepts(new_types, t) for t in old_types):
            return [f"{path}: type changed from {_kinds(old_types)} to {_kinds(new_types)}"]
        problems = _value_problems(old, new, path) + _constraint_problems(old, new, path)
        if "object" in old_types or (not old_types and _looks_like_object(old)):
            problems += self._compare_objects(old, new, path)
        if "array" in old_types or (not old_types and _looks_like_array(old)):
            problems += self._compare_arrays(old, new, path)
        return problems

    def _compare_objects(self, old: dict[str, Any], new: dict[str, Any], path: str) -> list[str]:
        problems: list[str] = []
        old_properties: dict[str, Schema] = old.get("properties", {})
        new_properties: dict[str, Schema] = new.get("properties", {})
        old_required = set(old.get("required", []))
        new_required = set(new.get("required", []))
        for name, schema in old_properties.items():
            where = _child(path, name)
            if name not in new_properties:
                problems.append(f"{where}: removed")
                continue
            if name in new_required and name not in old_required:
                problems.append(f"{where}: became required")
            if name in old_required and name not in new_required:
                problems.append(f"{where}: no longer required (readers rely on it being there)")
            problems += self.compare(schema, new_properties[name], where)
        for name in sorted(new_properties.keys() - old_properties.keys()):
            if name in new_required:
                problems.append(
                    f"{_child(path, name)}: added as required (published events lack it)"
                )
        old_more = old.get("additionalProperties", True)
        new_more = new.get("additionalProperties", True)
        if new_more is False and old_more is not False:
            problems.append(f"{path}: additionalProperties became false")
        elif new_more is not False and old_more is not False:
            problems += self.compare(old_more, new_more, f"{path}.*")
        return problems

    def _compare_arrays(self, old: dict[str, Any], new: dict[str, Any], path: str) -> list[str]:
        problems: list[str] = []
        old_prefix: list[Schema] = old.get("prefixItems", [])
        new_prefix: list[Schema] = new.get("prefixItems", [])
        old_items: Schema = old.get("items", True)
        new_items: Schema = new.get("items", True)
        for index in range(max(len(old_prefix), len(new_prefix))):
            before = old_prefix[index] if index < len(old_prefix) else old_items
            after = new_prefix[index] if index < len(new_prefix) else new_items
            problems += self.compare(before, after, f"{path}[{index}]")
        problems += self.compare(old_items, new_items, f"{path}[*]")
        return problems


def _resolve(schema: Schema, root: dict[str, Any]) -> tuple[Schema | None, list[str]]:
    """``schema`` with its ``$ref`` chain followed (siblings of a ``$ref`` kept)."""
    refs: list[str] = []
    while isinstance(schema, dict) and "$ref" in schema:
        ref = schema["$ref"]
        if ref in refs:
            break
        refs.append(ref)
        target = _pointer(root, ref)
        if target is None:
            return None, refs
        siblings = {k: v for k, v in schema.items() if k != "$ref"}
        schema = {**target, **siblings} if isinstance(target, dict) else target
    return schema, refs


def _peek(schema: Schema, root: dict[str, Any]) -> dict[str, Any]:
    """What a ``$ref`` points at, for a look at its types (not compared from here)."""
    resolved, _ = _resolve(schema, root)
    return resolved if isinstance(resolved, dict) else {}


def _pointer(root: dict[str, Any], ref: str) -> Schema | None:
    if not ref.startswith("#"):
        return None
    node: Any = root
    for raw in [p for p in ref[1:].split("/") if p]:
        part = raw.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node if isinstance(node, dict | bool) else None


def _branches(schema: dict[str, Any]) -> list[dict[str, Any]]:
    """The alternatives a schema accepts: ``anyOf``/``oneOf`` members, one per listed type."""
    for keyword in ("anyOf", "oneOf"):
        if keyword in schema:
            shared = {
                k: v
                for k, v in schema.items()
                if k not in _ANNOTATIONS and k not in ("anyOf", "oneOf")
            }
            branches: list[dict[str, Any]] = []
            for member in schema[keyword]:
                if member is True or member == {}:
                    branches.append(dict(shared))
                elif isinstance(member, dict):
                    branches += _branches({**shared, **member})
            return branches
    declared = schema.get("type")
    if isinstance(declared, list) and len(declared) > 1:
        return [{**schema, "type": kind} for kind in declared]
    return [schema]


def _types(schema: dict[str, Any]) -> set[str]:
    declared = schema.get("type")
    if declared is None:
        if "$ref" in schema:
            return set()
        if _looks_like_object(schema):
            return {"object"}
        if _looks_like_array(schema):
            return {"array"}
        return set()
    return {declared} if isinstance(declared, str) else set(declared)


def _looks_like_object(schema: dict[str, Any]) -> bool:
    return "properties" in schema or "additionalProperties" in schema


def _looks_like_array(schema: dict[str, Any]) -> bool:
    return "items" in schema or "prefixItems" in schema


def _accepts(types: set[str], kind: str) -> bool:
    return kind in types or (kind == "integer" and "number" in types)


def _overlap(old: set[str], new: set[str]) -> bool:
    return any(_accepts(new, kind) for kind in old)


def _restricted(path: str, old: dict[str, Any], new_types: set[str]) -> str:
    was = "" if _allowed_values(old) is not None else " (anything was accepted)"
    return f"{path}: restricted to {_kinds(new_types)}{was}"


def _kinds(types: set[str]) -> str:
    return " or ".join(sorted(types))


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def _allowed_values(schema: dict[str, Any]) -> list[Any] | None:
    if "const" in schema:
        return [schema["const"]]
    if "enum" in schema:
        return list(schema["enum"])
    return None


def _value_problems(old: dict[str, Any], new: dict[str, Any], path: str) -> list[str]:
    old_values, new_values = _allowed_values(old), _allowed_values(new)
    if new_values is None:
        return []
    if old_values is None:
        return [f"{path}: values restricted to {new_values}"]
    kept = {_canonical(v) for v in new_values}
    dropped = [v for v in old_values if _canonical(v) not in kept]
    return [f"{path}: enum no longer allows {dropped}"] if dropped else []


def _constraint_problems(old: dict[str, Any], new: dict[str, Any], path: str) -> list[str]:
    problems: list[str] = []
    for names, tighter in ((_MINIMA, _greater), (_MAXIMA, _less)):
        for name in names:
            if name not in new:
                continue
            if name not in old:
                problems.append(f"{path}: {name} {new[name]} added")
            elif tighter(new[name], old[name]):
                problems.append(f"{path}: {name} tightened from {old[name]} to {new[name]}")
    for name in _EXACT:
        if name in new and name not in old:
            problems.append(f"{path}: {name} {new[name]!r} added")
        elif name in new and old[name] != new[name]:
            problems.append(f"{path}: {name} changed from {old[name]!r} to {new[name]!r}")
    if new.get("uniqueItems") is True and old.get("uniqueItems") is not True:
        problems.append(f"{path}: uniqueItems added")
    return problems


def _default_problems(old: dict[str, Any], new: dict[str, Any], path: str) -> list[str]:
    if "default" not in old or "default" not in new:
        return []
    before, after = _canonical(old["default"]), _canonical(new["default"])
    if before == after:
        return []
    return [
        f"{path}: default changed from {before} to {after} "
        "(published events without the property would read differently)"
    ]


def _greater(new: Any, old: Any) -> bool:
    return bool(new > old)


def _less(new: Any, old: Any) -> bool:
    return bool(new < old)


def _child(path: str, name: str) -> str:
    return f"{path}.{name}" if _IDENTIFIER.match(name) else f"{path}[{json.dumps(name)}]"
