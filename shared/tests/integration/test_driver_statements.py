"""Statements run on the driver connection belong to the transaction SQLAlchemy has open, and
are refused where they would commit on their own."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_shared.sql import DriverStatements

pytestmark = pytest.mark.integration


class Undo(Exception):
    pass


async def test_they_roll_back_with_the_transaction_even_as_its_first_statements(
    engine: AsyncEngine, schema: str
) -> None:
    async with engine.begin() as connection:
        await connection.execute(text(f'CREATE TABLE "{schema}".notes (id int, body jsonb)'))
    with pytest.raises(Undo):
        async with engine.begin() as connection:
            statements = await DriverStatements.of(connection)  # nothing run by SQLAlchemy yet
            written = await statements.execute(
                f'INSERT INTO "{schema}".notes VALUES (:id, CAST(:body AS jsonb))',
                {"id": 1, "body": '{"a": 1}'},
            )
            assert written == 1
            [row] = await statements.fetch(f'SELECT body FROM "{schema}".notes', {})
            assert row["body"] == {"a": 1}
            raise Undo
    async with engine.connect() as connection:
        left = await connection.scalar(text(f'SELECT count(*) FROM "{schema}".notes'))
    assert left == 0


async def test_they_are_refused_outside_a_transaction(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        with pytest.raises(RuntimeError, match="open transaction"):
            await DriverStatements.of(connection)
