"""SQL text parsed once: statements built per schema repeat on every request.

``sql``: a statement for SQLAlchemy (``connection.execute(sql(...), params)``).
``positional``: the same text with ``:name`` parameters turned into the driver's ``$n``, for
statements a unit of work runs on the asyncpg connection itself (``UnitOfWork.fetch`` and
``UnitOfWork.execute``): on the hottest paths SQLAlchemy's statement layer costs more CPU than
the statement does.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.util import greenlet_spawn

# A bind parameter as SQLAlchemy's text() reads one: ``:name``, but not a ``::type`` cast.
_NAMED_PARAMETER = re.compile(r"(?<![:\w\\]):(\w+)(?!:)")


@lru_cache(maxsize=2048)
def sql(statement: str) -> TextClause:
    """``sqlalchemy.text(statement)``, cached (parsing the bind parameters is not free)."""
    return text(statement)


@dataclass(frozen=True)
class PositionalStatement:
    text: str
    """The statement with ``$1``, ``$2``... in place of the names."""
    names: tuple[str, ...]
    """The parameter of each position."""

    def arguments(self, params: Mapping[str, Any]) -> list[Any]:
        """The values in position order; a name the statement uses but ``params`` lacks is an
        error (``KeyError``), as it is for SQLAlchemy."""
        return [params[name] for name in self.names]


@lru_cache(maxsize=2048)
def positional(statement: str) -> PositionalStatement:
    """``statement`` with its ``:name`` parameters numbered in order of first use; a name used
    twice keeps one number."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return PositionalStatement(_NAMED_PARAMETER.sub(number, statement), tuple(names))


def rows_affected(status: str) -> int:
    """The row count of a command tag such as ``INSERT 0 3`` or ``UPDATE 2`` (0 if none)."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


class Reads(Protocol):
    """What runs a query on the driver connection: ``DriverReads``, ``DriverStatements`` or a
    unit of work (``UnitOfWork.fetch``)."""

    async def fetch(self, statement: str, params: Mapping[str, Any]) -> list[Any]: ...


async def driver_of(connection: AsyncConnection) -> Any:
    """The asyncpg connection under an SQLAlchemy connection."""
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None, "the connection was invalidated"
    return driver


@asynccontextmanager
async def pooled_driver(engine: AsyncEngine) -> AsyncIterator[Any]:
    """An asyncpg connection from ``engine``'s pool, outside any transaction (each statement
    is one of its own), back in the pool when the block ends.

    For the hottest statements: SQLAlchemy's connection around a pooled connection, and the
    autocommit option on it, cost 60 us of CPU a use (measured with ``SELECT 1``: 108 us,
    against 48 us this way), and what runs on the driver needs neither. A connection the
    block leaves closed (the server went away) or in doubt (cancelled mid-statement) is
    dropped from the pool rather than handed to the next caller."""
    pooled = await engine.raw_connection()
    driver = pooled.driver_connection
    try:
        yield driver
    except BaseException as error:
        if isinstance(error, asyncio.CancelledError) or driver is None or driver.is_closed():
            await greenlet_spawn(pooled.invalidate, error)
        raise
    finally:
        await greenlet_spawn(pooled.close)


@asynccontextmanager
async def pooled_reads(engine: AsyncEngine) -> AsyncIterator[DriverReads]:
    """``DriverReads`` on a connection of ``engine``'s pool (``pooled_driver``)."""
    async with pooled_driver(engine) as driver:
        yield DriverReads(driver)


class DriverReads:
    """Queries (``:name`` parameters) run on an asyncpg connection, one under an SQLAlchemy
    connection (``on``) or one from the pool (``pooled_reads``), skipping SQLAlchemy's
    statement layer (for the hottest reads). Outside a transaction each runs on its own, as
    each statement does under READ COMMITTED anyway. Rows read by column name
    (``row["name"]``, ``dict(row)``); jsonb comes back decoded."""

    def __init__(self, driver: Any) -> None:
        self._driver = driver

    @classmethod
    async def on(cls, connection: AsyncConnection) -> DriverReads:
        return cls(await driver_of(connection))

    async def fetch(self, statement: str, params: Mapping[str, Any]) -> list[Any]:
        prepared = positional(statement)
        rows: list[Any] = await self._driver.fetch(prepared.text, *prepared.arguments(params))
        return rows


class DriverStatements(DriverReads):
    """Statements, writes among them, run on the driver as ``DriverReads`` are, in the
    transaction the SQLAlchemy connection has open: for the hottest statements of a consumer,
    whose transaction SQLAlchemy began."""

    @classmethod
    async def of(cls, connection: AsyncConnection) -> DriverStatements:
        """Refused outside a transaction: a statement there would commit on its own."""
        if not connection.in_transaction():
            raise RuntimeError("driver statements run only in an open transaction")
        driver = await driver_of(connection)
        if not driver.is_in_transaction():  # SQLAlchemy begins on the first statement
            await connection.execute(sql("SELECT 1"))
        return cls(driver)

    async def execute(self, statement: str, params: Mapping[str, Any]) -> int:
        """Returns the number of rows the statement changed."""
        prepared = positional(statement)
        status = await self._driver.execute(prepared.text, *prepared.arguments(params))
        return rows_affected(status)

    async def execute_many(self, statement: str, rows: Sequence[Mapping[str, Any]]) -> None:
        prepared = positional(statement)
        await self._driver.executemany(prepared.text, [prepared.arguments(r) for r in rows])
