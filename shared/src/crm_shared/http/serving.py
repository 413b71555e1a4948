"""How every service is served: telemetry configured from the environment, then uvicorn on
uvloop and httptools, with the platform's JSON logging (uvicorn's own log config off) and its
access log only when ``CRM_ACCESS_LOG`` asks for it."""

from __future__ import annotations

import argparse
import asyncio
import gc
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI

from crm_shared.settings import PlatformSettings
from crm_shared.telemetry import configure_logging, configure_tracing


def platform_with_telemetry(service: str) -> PlatformSettings:
    """The platform settings, with logging and tracing set up for ``service``."""
    platform = PlatformSettings()
    configure_logging(service, platform.log_level, platform.log_format)
    configure_tracing(platform.otel_service_name or service, platform.otel_exporter_otlp_endpoint)
    return platform


def freeze_heap_after_startup(app: FastAPI) -> FastAPI:
    """``app``, whose process, once the app has started (every module imported, its
    connections open), leaves the objects it holds then out of garbage collection.

    The collector's oldest generation otherwise walks every object of the process, the
    hundred thousand or more that importing FastAPI, pydantic, SQLAlchemy and the service's
    own modules leaves, and does so about once a second under load (requests in flight live
    long enough to be promoted): a pause of 60 to 70 ms of the event loop each time, measured on
    the contacts service, that every request in flight waits out (its p99 of creates fell from
    121-155 ms to 67-78 ms with them frozen, runs of bench.contacts). For the served process
    only, built by the application factory: tests build many applications in one process."""
    started = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(served: FastAPI) -> AsyncIterator[Any]:
        async with started(served) as state:
            gc.collect()  # what is garbage already goes now, not kept for good
            gc.freeze()
            yield state

    app.router.lifespan_context = lifespan
    return app


def served_app(service: str, build: Callable[[PlatformSettings], FastAPI]) -> FastAPI:
    """What every service's application factory returns: the app ``build`` makes of the
    platform settings, with logging and tracing set up for ``service`` and its start-up heap
    frozen once it has started (``freeze_heap_after_startup``)."""
    return freeze_heap_after_startup(build(platform_with_telemetry(service)))


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
