"""Composition root: builds the contacts service from its settings; nothing runs at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_contacts.application.accounts import AccountHandlers
from crm_contacts.application.handlers import ContactHandlers
from crm_contacts.application.imports import ImportHandlers, run_importer
from crm_contacts.application.queries import ContactQueries
from crm_contacts.config import ContactsSettings
from crm_contacts.entrypoints.accounts_api import accounts_router
from crm_contacts.entrypoints.api import contacts_router, custom_fields_router, privacy_router
from crm_contacts.entrypoints.imports_api import imports_router
from crm_shared.background import BackgroundWork
from crm_shared.database import database_engine
from crm_shared.eventstore import EventStore, upgrade
from crm_shared.http import add_routes, create_service_app, database_reachable
from crm_shared.http.authentication import token_verifier
from crm_shared.privacy import KeyEncryptionKey
from crm_shared.privacy.keystore import PRIVACY_MIGRATIONS, SubjectKeyStore
from crm_shared.settings import PlatformSettings

SERVICE_MIGRATIONS = Path(__file__).parent / "adapters" / "migrations" / "versions"
MIGRATIONS = [PRIVACY_MIGRATIONS, SERVICE_MIGRATIONS]
"""Every migration folder of the service's schema, beside the event store's."""
TOPIC = "crm.contacts.events"


async def migrate(platform: PlatformSettings, settings: ContactsSettings) -> None:
    """Bring the service's schema up to date (``crm-contacts migrate``, or at start)."""
    await upgrade(platform.async_database_url, settings.db_schema, MIGRATIONS)


def build_app(
    platform: PlatformSettings, settings: ContactsSettings, engine: AsyncEngine | None = None
) -> FastAPI:
    if settings.key_encryption_key is None:
        raise ValueError(
            "CONTACTS_KEY_ENCRYPTION_KEY is not set: give the service a key-encryption key"
            " (base64 of 32 random bytes, e.g. `openssl rand -base64 32`)"
        )
    keys = SubjectKeyStore(
        settings.db_schema,
        KeyEncryptionKey.from_base64(settings.key_encryption_key.get_secret_value()),
    )
    engine = engine or database_engine(platform)
    registry = CollectorRegistry()
    store = EventStore(engine, settings.db_schema)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if platform.migrate_on_start:
            await migrate(platform, settings)
        async with AsyncExitStack() as running:
            background = BackgroundWork(running, engine, platform, registry)
            if settings.run_relay:
                background.relay(
                    settings.db_schema, platform.topic("contacts"), "/crm/contacts", "contacts"
                )
            if settings.run_importer:
                background.loop(
                    run_importer(importer, settings.importer_interval_s, background.stop)
                )
            yield
        await engine.dispose()

    app = create_service_app(
        "CRM contacts",
        "0.1.0",
        registry,
        {"database": database_reachable(engine)},
        description="People, their channels, lifecycle and full history, as events.",
        lifespan=lifespan,
        auth=token_verifier(platform),
    )
    account_handlers = AccountHandlers(store)
    handlers = ContactHandlers(store, keys, settings.default_region, accounts=account_handlers)
    queries = ContactQueries(store, keys)
    importer = ImportHandlers(store, keys, handlers, settings.default_region)
    add_routes(app, custom_fields_router(handlers, queries))
    add_routes(app, contacts_router(handlers, queries))
    add_routes(app, privacy_router(queries))
    add_routes(app, accounts_router(account_handlers, store))
    add_routes(app, imports_router(importer))
    return app
