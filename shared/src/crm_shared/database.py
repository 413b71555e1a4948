"""The one way a process opens its PostgreSQL connections: a fixed pool, sized by settings."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from crm_shared.settings import PlatformSettings


def database_engine(platform: PlatformSettings, pool_size: int | None = None) -> AsyncEngine:
    """An engine whose pool keeps up to ``pool_size`` (``CRM_DB_POOL_SIZE``) connections open
    and never more: SQLAlchemy's default overflow opened a connection for each request beyond
    the pool and closed it on return, so a service under more concurrent requests than its
    pool forked a PostgreSQL backend for most of them (measured: 60 connections a second
    at 200 reads a second)."""
    return create_async_engine(
        platform.async_database_url,
        pool_size=pool_size or platform.db_pool_size,
        max_overflow=0,
        pool_timeout=platform.db_pool_timeout_s,
    )
