"""The duplicate look-up of a create reads by key, whatever the table's statistics say: a
tenant that grew after they were last gathered is not filtered row by row on every create."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_contacts.adapters.read_model import DuplicateLookup, _candidates_query
from crm_shared.sql import positional

from .conftest import ADA, BOB

pytestmark = pytest.mark.integration


async def test_a_tenant_newer_than_the_statistics_is_looked_up_by_key(
    api: httpx.AsyncClient, engine: AsyncEngine, contacts_schema: str
) -> None:
    for n in range(40):
        body = {"last_name": f"Known{n}", "emails": [f"known{n}@example.com"]}
        assert (await api.post("/contacts", json=body, headers=ADA)).status_code == 201
    async with engine.connect() as connection:
        await connection.execute(text(f'ANALYZE "{contacts_schema}".contacts'))
        await connection.execute(text(f'ANALYZE "{contacts_schema}".contact_identifiers'))
    for n in range(300):  # tenant-b: unknown to the statistics
        body = {"last_name": "Newcomer", "emails": [f"new{n}@example.com"]}
        assert (await api.post("/contacts", json=body, headers=BOB)).status_code == 201

    lookup = DuplicateLookup(["nobody@example.com"], [], "Stranger", [])
    statement = positional(_candidates_query(contacts_schema))
    params = statement.arguments({"tenant": BOB["X-Tenant-Id"], **lookup.params()})
    async with engine.connect() as connection:
        driver = (await connection.get_raw_connection()).driver_connection
        assert driver is not None
        plan = await driver.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement.text}", *params)

    examined = _nodes(plan[0]["Plan"])  # json comes back decoded
    filtered = [n for n in examined if n.get("Rows Removed by Filter", 0) > 0]
    assert filtered == [], "rows of the tenant were read and thrown away"
    by_key = [n for n in examined if n.get("Index Name") == "contact_identifiers_pkey"]
    assert len(by_key) == 3  # emails, phones, last names


def _nodes(node: dict) -> list[dict]:  # type: ignore[type-arg]
    found = [node]
    for child in node.get("Plans", []):
        found += _nodes(child)
    return found
