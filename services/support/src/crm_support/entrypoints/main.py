"""``crm-support``: serve the support API with uvicorn (with its relay, its contacts consumer,
the SLA timers and the SMTP server)."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from crm_shared.settings import PlatformSettings
from crm_shared.telemetry import configure_logging, configure_tracing
from crm_support.bootstrap import build_app
from crm_support.config import SupportSettings


def create_app() -> FastAPI:
    """Application factory: settings from the environment, telemetry, the app."""
    platform = PlatformSettings()
    configure_logging("support", platform.log_level, platform.log_format)
    configure_tracing(platform.otel_service_name or "support", platform.otel_exporter_otlp_endpoint)
    return build_app(platform, SupportSettings())


def main() -> None:
    settings = SupportSettings()
    uvicorn.run(
        "crm_support.entrypoints.main:create_app",
        factory=True,
        host=settings.http_host,
        port=settings.http_port,
        loop="uvloop",
        http="httptools",
        log_config=None,
    )


if __name__ == "__main__":
    main()
