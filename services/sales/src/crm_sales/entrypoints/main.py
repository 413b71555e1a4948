"""``crm-sales``: serve the sales API (with its relay and its contacts consumer) with uvicorn."""

from __future__ import annotations

from fastapi import FastAPI

from crm_sales.bootstrap import build_app, migrate
from crm_sales.config import SalesSettings
from crm_shared.http.serving import run_service, serve, served_app


def create_app() -> FastAPI:
    """Application factory: settings from the environment, telemetry, the app."""
    return served_app("sales", lambda platform: build_app(platform, SalesSettings()))


def serve_api() -> None:
    settings = SalesSettings()
    serve(
        "crm_sales.entrypoints.main:create_app",
        settings.http_host,
        settings.http_port,
    )


def main() -> None:
    run_service("sales", serve_api, lambda platform: migrate(platform, SalesSettings()))


if __name__ == "__main__":
    main()
