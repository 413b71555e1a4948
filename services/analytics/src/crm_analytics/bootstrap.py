"""Composition root: builds the analytics service from its settings; nothing runs at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_analytics.adapters import generations
from crm_analytics.application.customer_view import CustomerViews
from crm_analytics.application.generations import LiveGeneration, feed_live_generation
from crm_analytics.application.reports import Reports
from crm_analytics.config import AnalyticsSettings
from crm_analytics.domain.sources import SOURCES
from crm_analytics.entrypoints.admin_api import admin_router
from crm_analytics.entrypoints.api import customers_router
from crm_analytics.entrypoints.reports_api import reports_router
from crm_shared.background import BackgroundWork
from crm_shared.database import database_engine
from crm_shared.eventstore import upgrade
from crm_shared.http import add_routes, create_service_app, database_reachable
from crm_shared.http.authentication import token_verifier
from crm_shared.settings import PlatformSettings

MIGRATIONS = [Path(__file__).parent / "adapters" / "migrations" / "versions"]
"""The read models' tables: every generation's schema has them."""
CONTROL_MIGRATIONS = [*MIGRATIONS, Path(__file__).parent / "adapters" / "migrations" / "control"]
"""The service's own schema: the first generation's tables and the generations table."""


async def migrate(
    platform: PlatformSettings, settings: AnalyticsSettings, engine: AsyncEngine | None = None
) -> None:
    """Bring the control schema up to date, then every generation's read models (a rebuilt
    generation lives in a schema of its own and needs the new tables too)."""
    control = settings.db_schema
    await upgrade(platform.async_database_url, control, CONTROL_MIGRATIONS)
    own_engine = engine is None
    engine = engine or database_engine(platform, pool_size=2)
    try:
        async with engine.connect() as connection:
            listed = await generations.listed(connection, control)
    finally:
        if own_engine:
            await engine.dispose()
    for generation in listed:
        if generation["schema_name"] != control and generation["state"] in {"live", "building"}:
            await upgrade(platform.async_database_url, generation["schema_name"], MIGRATIONS)


def build_app(
    platform: PlatformSettings, settings: AnalyticsSettings, engine: AsyncEngine | None = None
) -> FastAPI:
    engine = engine or database_engine(platform)
    registry = CollectorRegistry()
    live = LiveGeneration(settings.db_schema)
    control = settings.db_schema
    group = settings.consumer_group or platform.consumer_group("analytics")

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if platform.migrate_on_start:
            await migrate(platform, settings, engine)
        async with engine.begin() as connection:
            live.schema = (await generations.ensure_first(connection, control, group)).schema
        async with AsyncExitStack() as running:
            background = BackgroundWork(running, engine, platform, registry)
            if not settings.run_consumer:  # the feeding loop follows the live generation
                background.loop(
                    live.follow(engine, control, background.stop, settings.generation_poll_s)
                )
            else:
                background.loop(
                    feed_live_generation(
                        engine,
                        platform.kafka_bootstrap_servers,
                        control,
                        [platform.topic(service) for service in SOURCES],
                        registry,
                        background.stop,
                        settings.generation_poll_s,
                        live,
                    )
                )
            yield
        await engine.dispose()

    app = create_service_app(
        "CRM analytics",
        "0.1.0",
        registry,
        {"database": database_reachable(engine)},
        description="Read models from every service's events: the 360-degree customer view, KPIs.",
        lifespan=lifespan,
        auth=token_verifier(platform),
    )
    add_routes(app, customers_router(CustomerViews(engine, live)))
    add_routes(app, reports_router(Reports(engine, live)))
    add_routes(app, admin_router(engine, control))
    return app
