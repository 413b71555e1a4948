"""Contacts as CSV or JSON, produced row by row for streaming responses."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator

from crm_contacts.adapters.read_model import ContactRow

COLUMNS = (
    "id",
    "version",
    "first_name",
    "last_name",
    "primary_email",
    "other_emails",
    "primary_phone",
    "other_phones",
    "lifecycle_stage",
    "owner_id",
    "tags",
    "source",
    "archived",
    "created_at",
    "updated_at",
)


def _flat(row: ContactRow) -> dict[str, object]:
    details = row.details
    emails = [e["address"] for e in details.get("emails", [])]
    phones = [p["number"] for p in details.get("phones", [])]
    return {
        "id": row.contact_id,
        "version": row.version,
        "first_name": details.get("first_name") or "",
        "last_name": details["last_name"],
        "primary_email": emails[0] if emails else "",
        "other_emails": ";".join(emails[1:]),
        "primary_phone": phones[0] if phones else "",
        "other_phones": ";".join(phones[1:]),
        "lifecycle_stage": details["lifecycle_stage"],
        "owner_id": details.get("owner_id") or "",
        "tags": ";".join(details.get("tags", [])),
        "source": details.get("source") or "",
        "archived": str(row.archived).lower(),
        "created_at": row.created_at.isoformat(),
        "updated_at": row.updated_at.isoformat(),
    }


async def csv_lines(rows: AsyncIterator[ContactRow]) -> AsyncIterator[str]:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    async for row in rows:
        writer.writerow(_flat(row))
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


async def json_lines(rows: AsyncIterator[ContactRow]) -> AsyncIterator[str]:
    """A JSON array, one contact per line."""
    yield "["
    separator = "\n"
    async for row in rows:
        body = {
            "id": row.contact_id,
            "version": row.version,
            "archived": row.archived,
            **row.details,
            "created_at": row.created_at.isoformat(),
            "updated_at": row.updated_at.isoformat(),
        }
        yield separator + json.dumps(body, ensure_ascii=False)
        separator = ",\n"
    yield "\n]\n"
