"""Custom fields: defined per tenant at run time, checked on every write of a contact."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from crm_contacts.domain.errors import InvalidValue
from crm_shared.contracts.contacts import CustomFieldDefined

NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
TYPES = ("text", "number", "date", "boolean", "choice", "multi_choice")


@dataclass(frozen=True)
class FieldDefinition:
    name: str
    label: str
    field_type: str
    choices: tuple[str, ...] = ()
    required: bool = False

    @classmethod
    def from_event(cls, event: CustomFieldDefined) -> FieldDefinition:
        return cls(event.name, event.label, event.field_type, tuple(event.choices), event.required)


@dataclass
class FieldCatalogue:
    """A tenant's custom fields for contacts, as their definitions stand."""

    tenant_id: str
    fields: dict[str, FieldDefinition] = field(default_factory=dict)

    def define(
        self, name: str, label: str, field_type: str, choices: list[str], required: bool
    ) -> CustomFieldDefined | None:
        """Define a field or change its label, choices or requiredness; None if unchanged.

        A field's type never changes and its choices only grow: values already stored must
        stay valid.
        """
        if not NAME.match(name):
            raise InvalidValue("name", "lowercase letters, digits and _, starting with a letter")
        if field_type not in TYPES:
            raise InvalidValue("field_type", f"must be one of {', '.join(TYPES)}")
        if field_type in ("choice", "multi_choice") and not choices:
            raise InvalidValue("choices", f"a {field_type} field needs choices")
        existing = self.fields.get(name)
        if existing is not None:
            if existing.field_type != field_type:
                raise InvalidValue("field_type", f"{name} is a {existing.field_type} field")
            removed = sorted(set(existing.choices) - set(choices))
            if removed:
                raise InvalidValue("choices", f"choices in use cannot be removed: {removed}")
        event = CustomFieldDefined(
            tenant_id=self.tenant_id,
            name=name,
            label=label.strip() or name,
            field_type=field_type,
            choices=list(dict.fromkeys(choices)),
            required=required,
        )
        if existing == FieldDefinition.from_event(event):
            return None
        self.fields[name] = FieldDefinition.from_event(event)
        return event

    def from_text(self, values: dict[str, str]) -> dict[str, Any]:
        """Values written as text (a CSV cell) turned into their field's type, to be checked:
        numbers, true/false/yes/no/1/0, several choices separated by ``;``."""
        typed: dict[str, Any] = {}
        for name, text in values.items():
            definition = self.fields.get(name)
            typed[name] = _from_text(definition.field_type, text) if definition else text
        return typed

    def check(self, values: dict[str, Any]) -> dict[str, Any]:
        """Values checked and normalised against the definitions; unset ones left out."""
        unknown = sorted(set(values) - set(self.fields))
        if unknown:
            raise InvalidValue(f"custom_fields.{unknown[0]}", "no such custom field")
        checked: dict[str, Any] = {}
        for name, definition in self.fields.items():
            value = values.get(name)
            if value is None or value == "" or value == []:
                if definition.required:
                    raise InvalidValue(f"custom_fields.{name}", "is required")
                continue
            checked[name] = _normalise(definition, value)
        return checked


def _from_text(kind: str, text: str) -> Any:
    text = text.strip()
    if kind == "number":
        try:
            return int(text)
        except ValueError:
            try:
                return float(text)
            except ValueError:
                return text  # refused by the check, naming the field
    if kind == "boolean":
        return {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}.get(
            text.lower(), text
        )
    if kind == "multi_choice":
        return [part.strip() for part in text.split(";") if part.strip()]
    return text


def _normalise(definition: FieldDefinition, value: Any) -> Any:
    where = f"custom_fields.{definition.name}"
    kind = definition.field_type
    if kind == "text":
        if not isinstance(value, str):
            raise InvalidValue(where, "must be text")
        return value.strip()
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidValue(where, "must be a number")
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise InvalidValue(where, "must be true or false")
        return value
    if kind == "date":
        try:
            return date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise InvalidValue(where, "must be a date (YYYY-MM-DD)") from None
    if kind == "choice":
        if value not in definition.choices:
            raise InvalidValue(where, f"must be one of {', '.join(definition.choices)}")
        return value
    if not isinstance(value, list) or any(v not in definition.choices for v in value):
        raise InvalidValue(where, f"must be a list of {', '.join(definition.choices)}")
    return sorted(set(value), key=definition.choices.index)
