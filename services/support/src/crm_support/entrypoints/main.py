"""``crm-support``: serve the support API with uvicorn (with its relay, its contacts consumer,
the SLA timers and the SMTP server)."""

from __future__ import annotations

from fastapi import FastAPI

from crm_shared.http.serving import run_service, serve, served_app
from crm_support.bootstrap import build_app, migrate
from crm_support.config import SupportSettings


def create_app() -> FastAPI:
    """Application factory: settings from the environment, telemetry, the app."""
    return served_app("support", lambda platform: build_app(platform, SupportSettings()))


def serve_api() -> None:
    settings = SupportSettings()
    serve(
        "crm_support.entrypoints.main:create_app",
        settings.http_host,
        settings.http_port,
    )


def main() -> None:
    run_service("support", serve_api, lambda platform: migrate(platform, SupportSettings()))


if __name__ == "__main__":
    main()
