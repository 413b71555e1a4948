"""Schema migrations of one service's PostgreSQL schema, with Alembic.

The event store's own revisions (branch ``eventstore``) live in this package; a service adds
its read tables as revisions in its own folder, passed as ``extra_version_locations``, whose
first revision ``depends_on`` ``0001_event_store``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

_MIGRATIONS = Path(__file__).parent / "migrations"
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def validate_schema_name(schema: str) -> str:
    """Schema names are interpolated into DDL, so only plain lowercase identifiers pass."""
    if not _IDENTIFIER.match(schema):
        raise ValueError(f"invalid schema name {schema!r}: use lowercase letters, digits, _")
    return schema


def target_schema() -> str:
    """The schema a running migration writes to (for use inside revision scripts)."""
    return validate_schema_name(context.config.attributes["schema"])


def alembic_config(schema: str, extra_version_locations: Sequence[Path] = ()) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    locations = [_MIGRATIONS / "versions", *extra_version_locations]
    config.set_main_option("version_locations", " ".join(str(p) for p in locations))
    config.set_main_option("path_separator", "space")
    config.attributes["schema"] = validate_schema_name(schema)
    return config


async def upgrade(
    database_url: str, schema: str, extra_version_locations: Sequence[Path] = ()
) -> None:
    """Bring ``schema`` to the newest revision of every branch; safe to run repeatedly."""
    config = alembic_config(schema, extra_version_locations)
    engine = create_async_engine(database_url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_run_upgrade, config)
    finally:
        await engine.dispose()


def _run_upgrade(connection: Connection, config: Config) -> None:
    config.attributes["connection"] = connection
    command.upgrade(config, "heads")
