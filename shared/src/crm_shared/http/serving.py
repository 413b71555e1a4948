"""How every service is served: telemetry configured from the environment, then uvicorn on
uvloop and httptools, with the platform's JSON logging (uvicorn's own log config off) and its
access log only when ``CRM_ACCESS_LOG`` asks for it."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

import uvicorn

from crm_shared.settings import PlatformSettings
from crm_shared.telemetry import configure_logging, configure_tracing


def platform_with_telemetry(service: str) -> PlatformSettings:
    """The platform settings, with logging and tracing set up for ``service``."""
    platform = PlatformSettings()
    configure_logging(service, platform.log_level, platform.log_format)
    configure_tracing(platform.otel_service_name or service, platform.otel_exporter_otlp_endpoint)
    return platform


def serve(app_factory: str, host: str, port: int, workers: int | None = None) -> None:
    """Serve the application ``app_factory`` (``module:function``) builds, in each worker."""
    uvicorn.run(
        app_factory,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        log_config=None,
        access_log=PlatformSettings().access_log,
    )


def run_service(
    service: str,
    serve_api: Callable[[], None],
    migrate: Callable[[PlatformSettings], Coroutine[Any, Any, None]],
    argv: Sequence[str] | None = None,
) -> None:
    """The command line of ``crm-<service>``: ``serve`` (the default) runs the service;
    ``migrate`` brings its database schema up to date and exits (a deployment's init step)."""
    parser = argparse.ArgumentParser(prog=f"crm-{service}")
    parser.add_argument(
        "command",
        nargs="?",
        default="serve",
        choices=["serve", "migrate"],
        help="serve: run the service (default); migrate: update the database schema and exit",
    )
    if parser.parse_args(argv).command == "migrate":
        asyncio.run(migrate(platform_with_telemetry(service)))
    else:
        serve_api()
