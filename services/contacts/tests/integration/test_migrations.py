"""Migration c0009: the last names of the contacts already stored become identifiers, and the
downgrade gives the index back."""

from __future__ import annotations

import pytest
from alembic import command
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_contacts.bootstrap import MIGRATIONS
from crm_shared.eventstore.migrate import alembic_config

pytestmark = pytest.mark.integration

BEFORE = "c0008_idempotency_keys"


def _migrate(connection: Connection, schema: str, step: str, revision: str) -> None:
    config = alembic_config(schema, MIGRATIONS)
    config.attributes["connection"] = connection
    getattr(command, step)(config, revision)


async def test_stored_last_names_become_identifiers_and_the_downgrade_restores_the_index(
    engine: AsyncEngine, unique_name: str
) -> None:
    schema = unique_name
    async with engine.begin() as connection:
        await connection.run_sync(_migrate, schema, "upgrade", BEFORE)
        await connection.execute(
            text(
                f'INSERT INTO "{schema}".contacts (contact_id, tenant_id, version, last_name,'
                " lifecycle_stage, tags, details, archived, created_at, updated_at) VALUES"
                " ('ada', 't', 1, 'Lovelace', 'lead', '{}', '{}', false, now(), now()),"
                " ('old', 't', 1, 'Byron', 'lead', '{}', '{}', true, now(), now()),"
                " ('gone', 't', 1, NULL, 'lead', '{}', '{}', true, now(), now())"
            )
        )
        await connection.run_sync(_migrate, schema, "upgrade", "heads")
        names = await connection.execute(
            text(
                f'SELECT contact_id, value FROM "{schema}".contact_identifiers'
                " WHERE kind = 'last_name'"
            )
        )
        assert names.all() == [("ada", "lovelace")]  # archived and erased contacts: none

        await connection.run_sync(_migrate, schema, "downgrade", BEFORE)
        left = await connection.scalar(text(f'SELECT count(*) FROM "{schema}".contact_identifiers'))
        assert left == 0
        index = await connection.scalar(
            text(
                "SELECT count(*) FROM pg_indexes WHERE schemaname = :schema"
                " AND indexname = 'contacts_last_name'"
            ),
            {"schema": schema},
        )
        assert index == 1
