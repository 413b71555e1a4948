"""Composition root: builds the support service from its settings; nothing runs at import."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta
from pathlib import Path

from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_shared.background import BackgroundWork
from crm_shared.database import database_engine
from crm_shared.eventstore import EventStore, upgrade
from crm_shared.http import add_routes, create_service_app, database_reachable
from crm_shared.http.authentication import token_verifier
from crm_shared.privacy import KeyEncryptionKey
from crm_shared.privacy.keystore import PRIVACY_MIGRATIONS, SubjectKeyStore
from crm_shared.settings import PlatformSettings
from crm_support.application.cases import CaseHandlers
from crm_support.application.definitions import DefinitionHandlers
from crm_support.application.inbound import InboundMail
from crm_support.application.sla_timers import run_timers
from crm_support.config import SupportSettings
from crm_support.entrypoints.api import cases_router, setup_router
from crm_support.entrypoints.contact_events import (
    APPLIED_TYPES,
    CONSUMER_GROUP,
    apply_contact_event,
)
from crm_support.entrypoints.public_api import inbound_router, surveys_router
from crm_support.entrypoints.smtp import start_smtp

MIGRATIONS = [PRIVACY_MIGRATIONS, Path(__file__).parent / "adapters" / "migrations" / "versions"]
TOPIC = "crm.support.events"
CONTACTS_TOPIC = "crm.contacts.events"


def _required(value: SecretStr | None, variable: str, what: str) -> bytes:
    if value is None:
        raise ValueError(
            f"{variable} is not set: give the service {what}"
            " (base64 of 32 random bytes, e.g. `openssl rand -base64 32`)"
        )
    return base64.b64decode(value.get_secret_value())


async def migrate(platform: PlatformSettings, settings: SupportSettings) -> None:
    """Bring the service's schema up to date (``crm-support migrate``, or at start)."""
    await upgrade(platform.async_database_url, settings.db_schema, MIGRATIONS)


def build_app(
    platform: PlatformSettings, settings: SupportSettings, engine: AsyncEngine | None = None
) -> FastAPI:
    kek = _required(
        settings.key_encryption_key, "SUPPORT_KEY_ENCRYPTION_KEY", "a key-encryption key"
    )
    survey_key = _required(
        settings.survey_signing_key, "SUPPORT_SURVEY_SIGNING_KEY", "a survey signing key"
    )
    webhook_key = (
        settings.inbound_webhook_signing_key.get_secret_value().encode()
        if settings.inbound_webhook_signing_key
        else None
    )
    keys = SubjectKeyStore(settings.db_schema, KeyEncryptionKey(kek))
    engine = engine or database_engine(platform)
    registry = CollectorRegistry()
    store = EventStore(engine, settings.db_schema)
    cases = CaseHandlers(store, keys, timedelta(days=settings.reopen_window_days))
    definitions = DefinitionHandlers(store)
    mail = InboundMail(store, cases)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if platform.migrate_on_start:
            await migrate(platform, settings)
        async with AsyncExitStack() as running:
            background = BackgroundWork(running, engine, platform, registry)
            if settings.run_relay:
                background.relay(
                    settings.db_schema, platform.topic("support"), "/crm/support", "support"
                )
            if settings.run_consumer:
                await background.consumer(
                    platform.consumer_group(CONSUMER_GROUP),
                    [platform.topic("contacts")],
                    settings.db_schema,
                    apply_contact_event(store, cases),
                    APPLIED_TYPES,
                )
            if settings.run_timers:
                background.loop(run_timers(cases, settings.timer_max_sleep_s, background.stop))
            if settings.smtp_port is not None:
                server = await start_smtp(mail, settings.smtp_host, settings.smtp_port)
                running.push_async_callback(server.wait_closed)
                running.callback(server.close)
            yield
        await engine.dispose()

    app = create_service_app(
        "CRM support",
        "0.1.0",
        registry,
        {"database": database_reachable(engine)},
        description="Cases, queues, SLAs and escalation, interactions, satisfaction, knowledge.",
        lifespan=lifespan,
        auth=token_verifier(platform),
    )
    add_routes(app, cases_router(cases, store))
    add_routes(app, setup_router(definitions, store))
    add_routes(app, surveys_router(cases, store, survey_key, settings.public_url))
    add_routes(app, inbound_router(mail, webhook_key))
    return app
