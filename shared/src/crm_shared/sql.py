"""SQL text parsed once: statements built per schema repeat on every request.

``sql``: a statement for SQLAlchemy (``connection.execute(sql(...), params)``).
``positional``: the same text with ``:name`` parameters turned into the driver's ``$n``, for
statements a unit of work runs on the asyncpg connection itself (``UnitOfWork.fetch`` and
``UnitOfWork.execute``): on the hottest paths SQLAlchemy's statement layer costs more CPU than
the statement does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import TextClause, text

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
