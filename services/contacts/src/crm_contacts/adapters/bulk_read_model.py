"""Many new contacts' rows and identifiers in two statements (bulk imports)."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from crm_contacts.adapters.read_model import IDENTIFIER_VALUE
from crm_contacts.domain.contact import Contact
from crm_shared.sql import sql


def _primary(items: list[dict[str, object]], key: str) -> object:
    return next((item[key] for item in items if item.get("primary")), None)


async def insert_new_contacts(
    connection: AsyncConnection, schema: str, tenant_id: str, contacts: list[Contact], at: datetime
) -> None:
    if not contacts:
        return
    states = [c.state for c in contacts]
    await connection.execute(
        sql(
            f'INSERT INTO "{schema}".contacts (contact_id, tenant_id, version, first_name,'
            " last_name, primary_email, primary_phone, lifecycle_stage, owner_id, tags, details,"
            " archived, created_at, updated_at)"
            " SELECT c.id, :tenant, c.version, c.first, c.last, c.email, c.phone, c.stage,"
            " c.owner, ARRAY(SELECT jsonb_array_elements_text(c.tags)), c.details, false, :at, :at"
            " FROM unnest(CAST(:ids AS text[]), CAST(:versions AS integer[]),"
            " CAST(:firsts AS text[]), CAST(:lasts AS text[]), CAST(:emails AS text[]),"
            " CAST(:phones AS text[]), CAST(:stages AS text[]), CAST(:owners AS text[]),"
            " CAST(:tags AS jsonb[]), CAST(:details AS jsonb[]))"
            " AS c(id, version, first, last, email, phone, stage, owner, tags, details)"
        ),
        {
            "tenant": tenant_id,
            "at": at,
            "ids": [c.contact_id for c in contacts],
            "versions": [c.version for c in contacts],
            "firsts": [s.get("first_name") for s in states],
            "lasts": [s["last_name"] for s in states],
            "emails": [_primary(s.get("emails", []), "address") for s in states],
            "phones": [_primary(s.get("phones", []), "number") for s in states],
            "stages": [s["lifecycle_stage"] for s in states],
            "owners": [s.get("owner_id") for s in states],
            "tags": [json.dumps(s.get("tags", [])) for s in states],
            "details": [json.dumps({**s, "consents": {}, "erased": False}) for s in states],
        },
    )
    kinds: list[str] = []
    values: list[str] = []
    owners: list[str] = []
    for contact in contacts:
        for kind, value in sorted(contact.identifiers()):
            kinds.append(kind)
            values.append(value)
            owners.append(contact.contact_id)
    if kinds:
        await connection.execute(
            sql(
                f'INSERT INTO "{schema}".contact_identifiers (tenant_id, kind, value, contact_id)'
                f" SELECT :tenant, k, {IDENTIFIER_VALUE}, c FROM unnest(CAST(:kinds AS text[]),"
                " CAST(:values AS text[]), CAST(:owners AS text[])) AS t(k, v, c)"
                " ON CONFLICT DO NOTHING"
            ),
            {"tenant": tenant_id, "kinds": kinds, "values": values, "owners": owners},
        )


async def existing_ids(
    connection: AsyncConnection, schema: str, tenant_id: str, contact_ids: list[str]
) -> set[str]:
    # By primary key alone (the ids are unique across tenants), then the tenant is checked.
    result = await connection.execute(
        sql(f'SELECT contact_id, tenant_id FROM "{schema}".contacts WHERE contact_id = ANY(:ids)'),
        {"ids": contact_ids},
    )
    return {row.contact_id for row in result if row.tenant_id == tenant_id}


async def owners_of_identifiers(
    connection: AsyncConnection, schema: str, tenant_id: str, emails: list[str], phones: list[str]
) -> dict[tuple[str, str], str]:
    """(kind, value) -> an active contact holding it (the oldest id when several do)."""
    # Two lookups the primary key (tenant, kind, value, contact) answers; an OR of both would
    # scan the table, which grows with every batch.
    result = await connection.execute(
        sql(
            f'SELECT kind, value, contact_id FROM "{schema}".contact_identifiers'
            " WHERE tenant_id = :tenant AND kind = 'email' AND value = ANY(:emails)"
            " UNION ALL"
            f' SELECT kind, value, contact_id FROM "{schema}".contact_identifiers'
            " WHERE tenant_id = :tenant AND kind = 'phone' AND value = ANY(:phones)"
        ),
        {"tenant": tenant_id, "emails": emails, "phones": phones},
    )
    owners: dict[tuple[str, str], str] = {}
    for row in result:
        key = (row.kind, row.value)
        owners[key] = min(owners.get(key, row.contact_id), row.contact_id)
    return owners
