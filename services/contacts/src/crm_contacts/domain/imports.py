"""CSV imports: a column mapping, rows turned into contact details, and what each row does.

A mapping says which CSV column feeds which contact field. Targets: ``first_name``,
``last_name``, ``email`` / ``emails`` and ``phone`` / ``phones`` (several separated by ``;``),
``lifecycle_stage``, ``owner_id``, ``tags`` (``;``), ``source``, ``address.<part>`` (line1,
line2, city, region, postal_code, country) and ``custom.<field name>``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, Literal

from crm_contacts.domain.contact import ADDRESS_PARTS, ContactDetails
from crm_contacts.domain.errors import InvalidValue

SIMPLE_TARGETS = ("first_name", "last_name", "lifecycle_stage", "owner_id", "source")
LIST_TARGETS = {
    "email": "emails",
    "emails": "emails",
    "phone": "phones",
    "phones": "phones",
    "tags": "tags",
}
ADDRESS_TARGETS = tuple(f"address.{part}" for part in (*ADDRESS_PARTS, "country"))
SEPARATOR = ";"
NAMESPACE = uuid.UUID("2f1d3c1e-8a53-4a0e-9a53-6a3f5e0f7c11")

OnDuplicate = Literal["skip", "update", "create"]
Mode = Literal["dry_run", "apply"]


@dataclass(frozen=True)
class Mapping:
    columns: dict[str, str]
    """CSV column -> target field."""

    @classmethod
    def parse(cls, raw: object) -> Mapping:
        if not isinstance(raw, dict) or not raw:
            raise InvalidValue("mapping", "an object of CSV column -> contact field")
        columns: dict[str, str] = {}
        for column, target in raw.items():
            target = str(target).strip()
            known = (
                target in SIMPLE_TARGETS
                or target in LIST_TARGETS
                or target in ADDRESS_TARGETS
                or (target.startswith("custom.") and len(target) > len("custom."))
            )
            if not known:
                raise InvalidValue(f"mapping.{column}", f"{target!r} is not a contact field")
            columns[str(column)] = target
        if "last_name" not in columns.values():
            raise InvalidValue("mapping", "map a column to last_name")
        return cls(columns)

    def check_header(self, header: list[str]) -> None:
        missing = sorted(set(self.columns) - set(header))
        if missing:
            raise InvalidValue(f"mapping.{missing[0]}", f"the file has no column {missing[0]!r}")

    def details(self, header: list[str], row: list[str]) -> ContactDetails:
        """The row's contact details (unnormalised: the aggregate normalises and checks)."""
        if len(row) != len(header):
            raise InvalidValue("row", f"{len(row)} values for {len(header)} columns")
        values = dict(zip(header, row, strict=True))
        fields: dict[str, Any] = {
            "last_name": "",
            "emails": [],
            "phones": [],
            "tags": [],
            "custom_fields": {},
        }
        address: dict[str, str] = {}
        for column, target in self.columns.items():
            value = values[column].strip()
            if not value:
                continue
            if target in LIST_TARGETS:
                fields[LIST_TARGETS[target]] += [
                    v.strip() for v in value.split(SEPARATOR) if v.strip()
                ]
            elif target.startswith("address."):
                address[target.removeprefix("address.")] = value
            elif target.startswith("custom."):
                fields["custom_fields"][target.removeprefix("custom.")] = value
            else:
                fields[target] = value
        if address:
            fields["addresses"] = [address]
        return ContactDetails(**fields)


def contact_id_for(tenant_id: str, file_sha256: str, line: int) -> str:
    """The same row of the same file always makes the same contact: re-runs and resumed
    imports find it instead of creating it again."""
    return str(uuid.uuid5(NAMESPACE, f"{tenant_id}:{file_sha256}:{line}"))
