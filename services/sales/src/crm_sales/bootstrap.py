"""Composition root: builds the sales service from its settings; nothing runs at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_sales.adapters.contacts_client import HttpContactsClient
from crm_sales.application.activities import ActivityHandlers, run_scheduler
from crm_sales.application.conversion import ConversionHandlers, run_conversions
from crm_sales.application.handlers import SalesHandlers
from crm_sales.application.leads import LeadHandlers
from crm_sales.application.queries import SalesQueries
from crm_sales.config import SalesSettings
from crm_sales.entrypoints.activities_api import activities_router
from crm_sales.entrypoints.api import (
    catalogue_router,
    forecast_router,
    opportunities_router,
    pipelines_router,
    teams_router,
)
from crm_sales.entrypoints.contact_events import (
    APPLIED_TYPES,
    CONSUMER_GROUP,
    apply_contact_event,
)
from crm_sales.entrypoints.leads_api import leads_router
from crm_shared.auth.client_credentials import ClientCredentials
from crm_shared.background import BackgroundWork
from crm_shared.database import database_engine
from crm_shared.eventstore import EventStore, upgrade
from crm_shared.http import add_routes, create_service_app, database_reachable
from crm_shared.http.authentication import token_verifier
from crm_shared.privacy import KeyEncryptionKey
from crm_shared.privacy.keystore import PRIVACY_MIGRATIONS, SubjectKeyStore
from crm_shared.settings import PlatformSettings

MIGRATIONS = [PRIVACY_MIGRATIONS, Path(__file__).parent / "adapters" / "migrations" / "versions"]
TOPIC = "crm.sales.events"
CONTACTS_TOPIC = "crm.contacts.events"


def _service_account(platform: PlatformSettings, settings: SalesSettings) -> httpx.Auth | None:
    if platform.auth_issuer is None or settings.contacts_client_id is None:
        return None
    if settings.contacts_client_secret is None:
        raise ValueError("SALES_CONTACTS_CLIENT_SECRET is not set: give the account's secret")
    return ClientCredentials(
        platform.auth_issuer,
        settings.contacts_client_id,
        settings.contacts_client_secret.get_secret_value(),
    )


async def migrate(platform: PlatformSettings, settings: SalesSettings) -> None:
    """Bring the service's schema up to date (``crm-sales migrate``, or at start)."""
    await upgrade(platform.async_database_url, settings.db_schema, MIGRATIONS)


def build_app(
    platform: PlatformSettings,
    settings: SalesSettings,
    engine: AsyncEngine | None = None,
    contacts: HttpContactsClient | None = None,
) -> FastAPI:
    """``contacts``: how to reach the contacts service (default: SALES_CONTACTS_URL)."""
    if settings.key_encryption_key is None:
        raise ValueError(
            "SALES_KEY_ENCRYPTION_KEY is not set: give the service a key-encryption key"
            " (base64 of 32 random bytes, e.g. `openssl rand -base64 32`)"
        )
    keys = SubjectKeyStore(
        settings.db_schema,
        KeyEncryptionKey.from_base64(settings.key_encryption_key.get_secret_value()),
    )
    engine = engine or database_engine(platform)
    registry = CollectorRegistry()
    store = EventStore(engine, settings.db_schema)
    handlers = SalesHandlers(store)
    lead_handlers = LeadHandlers(store, keys, settings.default_region)
    activity_handlers = ActivityHandlers(store, keys)
    queries = SalesQueries(store)
    if contacts is None and settings.contacts_url:
        contacts = HttpContactsClient(
            settings.contacts_url, auth=_service_account(platform, settings)
        )
    conversions = ConversionHandlers(store, lead_handlers, handlers, contacts)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if platform.migrate_on_start:
            await migrate(platform, settings)
        async with AsyncExitStack() as running:
            background = BackgroundWork(running, engine, platform, registry)
            if settings.run_relay:
                background.relay(settings.db_schema, platform.topic("sales"), "/crm/sales", "sales")
            if settings.run_consumer:
                await background.consumer(
                    platform.consumer_group(CONSUMER_GROUP),
                    [platform.topic("contacts")],
                    settings.db_schema,
                    apply_contact_event(store, handlers, activity_handlers),
                    APPLIED_TYPES,
                )
            if settings.run_scheduler:
                background.loop(
                    run_scheduler(activity_handlers, settings.scheduler_interval_s, background.stop)
                )
            if contacts is not None:
                running.push_async_callback(contacts.close)  # after the saga's runner stops
            if settings.run_conversions and contacts is not None:
                background.loop(
                    run_conversions(conversions, settings.conversion_interval_s, background.stop)
                )
            yield
        await engine.dispose()

    app = create_service_app(
        "CRM sales",
        "0.1.0",
        registry,
        {"database": database_reachable(engine)},
        description="Pipelines, opportunities, teams and forecasts, as events.",
        lifespan=lifespan,
        auth=token_verifier(platform),
    )
    add_routes(app, pipelines_router(handlers, queries))
    add_routes(app, teams_router(handlers, queries))
    add_routes(app, opportunities_router(handlers, queries))
    add_routes(app, forecast_router(queries))
    add_routes(app, catalogue_router(handlers, queries))
    add_routes(app, leads_router(lead_handlers, conversions, store))
    add_routes(app, activities_router(activity_handlers, store))
    return app
