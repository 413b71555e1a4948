"""``crm-sales``: serve the sales API (with its relay and its contacts consumer) with uvicorn."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from crm_sales.bootstrap import build_app
from crm_sales.config import SalesSettings
from crm_shared.settings import PlatformSettings
from crm_shared.telemetry import configure_logging, configure_tracing


def create_app() -> FastAPI:
    """Application factory: settings from the environment, telemetry, the app."""
    platform = PlatformSettings()
    configure_logging("sales", platform.log_level, platform.log_format)
    configure_tracing(platform.otel_service_name or "sales", platform.otel_exporter_otlp_endpoint)
    return build_app(platform, SalesSettings())


def main() -> None:
    settings = SalesSettings()
    uvicorn.run(
        "crm_sales.entrypoints.main:create_app",
        factory=True,
        host=settings.http_host,
        port=settings.http_port,
        loop="uvloop",
        http="httptools",
        log_config=None,
    )


if __name__ == "__main__":
    main()
