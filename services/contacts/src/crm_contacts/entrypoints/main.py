"""``crm-contacts``: serve the contacts API (and its relay) with uvicorn.

``CONTACTS_HTTP_WORKERS`` processes share the port; each builds its own application (and
relay: one of them publishes, the others stand by).
"""

from __future__ import annotations

from fastapi import FastAPI

from crm_contacts.bootstrap import build_app, migrate
from crm_contacts.config import ContactsSettings
from crm_shared.http.serving import run_service, serve, served_app


def create_app() -> FastAPI:
    """Application factory: settings from the environment, telemetry, the app."""
    return served_app("contacts", lambda platform: build_app(platform, ContactsSettings()))


def serve_api() -> None:
    settings = ContactsSettings()
    serve(
        "crm_contacts.entrypoints.main:create_app",
        settings.http_host,
        settings.http_port,
        settings.http_workers,
    )


def main() -> None:
    run_service("contacts", serve_api, lambda platform: migrate(platform, ContactsSettings()))


if __name__ == "__main__":
    main()
