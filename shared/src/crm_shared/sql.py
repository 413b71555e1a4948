"""SQL text parsed once: statements built per schema repeat on every request."""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import TextClause, text


@lru_cache(maxsize=2048)
def sql(statement: str) -> TextClause:
    """``sqlalchemy.text(statement)``, cached (parsing the bind parameters is not free)."""
    return text(statement)
