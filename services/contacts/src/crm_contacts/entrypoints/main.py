"""``crm-contacts``: serve the contacts API (and its relay) with uvicorn."""

from __future__ import annotations

import uvicorn

from crm_contacts.bootstrap import build_app
from crm_contacts.config import ContactsSettings
from crm_shared.settings import PlatformSettings
from crm_shared.telemetry import configure_logging, configure_tracing


def main() -> None:
    platform = PlatformSettings()
    settings = ContactsSettings()
    configure_logging("contacts", platform.log_level, platform.log_format)
    configure_tracing(
        platform.otel_service_name or "contacts", platform.otel_exporter_otlp_endpoint
    )
    uvicorn.run(
        build_app(platform, settings),
        host=settings.http_host,
        port=settings.http_port,
        log_config=None,
    )


if __name__ == "__main__":
    main()
