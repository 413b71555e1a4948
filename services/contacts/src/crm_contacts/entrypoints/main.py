"""``crm-contacts``: serve the contacts API (and its relay) with uvicorn.

``CONTACTS_HTTP_WORKERS`` processes share the port; each builds its own application (and
relay: one of them publishes, the others stand by).
"""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from crm_contacts.bootstrap import build_app
from crm_contacts.config import ContactsSettings
from crm_shared.settings import PlatformSettings
from crm_shared.telemetry import configure_logging, configure_tracing


def create_app() -> FastAPI:
    """Application factory: settings from the environment, telemetry, the app."""
    platform = PlatformSettings()
    configure_logging("contacts", platform.log_level, platform.log_format)
    configure_tracing(
        platform.otel_service_name or "contacts", platform.otel_exporter_otlp_endpoint
    )
    return build_app(platform, ContactsSettings())


def main() -> None:
    settings = ContactsSettings()
    uvicorn.run(
        "crm_contacts.entrypoints.main:create_app",
        factory=True,
        host=settings.http_host,
        port=settings.http_port,
        workers=settings.http_workers,
        loop="uvloop",
        http="httptools",
        log_config=None,
    )


if __name__ == "__main__":
    main()
