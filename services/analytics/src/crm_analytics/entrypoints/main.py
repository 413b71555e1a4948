"""``crm-analytics``: serve the analytics API with uvicorn, with its consumer of every
service's topic."""

from __future__ import annotations

from fastapi import FastAPI

from crm_analytics.bootstrap import build_app, migrate
from crm_analytics.config import AnalyticsSettings
from crm_shared.http.serving import run_service, serve, served_app


def create_app() -> FastAPI:
    """Application factory: settings from the environment, telemetry, the app."""
    return served_app("analytics", lambda platform: build_app(platform, AnalyticsSettings()))


def serve_api() -> None:
    settings = AnalyticsSettings()
    serve(
        "crm_analytics.entrypoints.main:create_app",
        settings.http_host,
        settings.http_port,
    )


def main() -> None:
    run_service("analytics", serve_api, lambda platform: migrate(platform, AnalyticsSettings()))


if __name__ == "__main__":
    main()
