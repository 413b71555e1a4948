"""``crm-gateway``: serve the public API with uvicorn."""

from __future__ import annotations

from fastapi import FastAPI

from crm_gateway.bootstrap import build_app
from crm_gateway.config import GatewaySettings
from crm_shared.http.serving import serve, served_app


def create_app() -> FastAPI:
    """Application factory: settings from the environment, telemetry, the app."""
    return served_app("gateway", lambda platform: build_app(platform, GatewaySettings()))


def main() -> None:
    settings = GatewaySettings()
    serve(
        "crm_gateway.entrypoints.main:create_app",
        settings.http_host,
        settings.http_port,
    )


if __name__ == "__main__":
    main()
