"""Every service's FastAPI application starts from ``create_service_app``.

- ``GET /healthz``: liveness. Answers without touching Kafka or PostgreSQL, so a broker outage
  never makes Kubernetes restart every pod.
- ``GET /readyz``: readiness. Runs the service's checks (database, broker) with a timeout and
  answers 503 naming the ones that failed.
- ``GET /metrics``: Prometheus exposition of the service's registry.
- Errors: a ``PlatformError`` answers with its status and body; a request that fails
  validation answers 422 listing each bad field, where it was and why.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from crm_shared.errors import PlatformError
from crm_shared.telemetry.http_metrics import HttpMetrics, HttpMetricsMiddleware
from crm_shared.telemetry.tracing import instrument_fastapi

ReadinessCheck = Callable[[], Awaitable[None]]
"""Raises when a dependency is not usable; returns when it is."""


def create_service_app(
    title: str,
    version: str,
    registry: CollectorRegistry,
    readiness_checks: Mapping[str, ReadinessCheck] | None = None,
    *,
    description: str = "",
    readiness_timeout: float = 2.0,
    **fastapi_options: Any,
) -> FastAPI:
    app = FastAPI(title=title, version=version, description=description, **fastapi_options)
    checks = dict(readiness_checks or {})

    @app.get("/healthz", tags=["operations"], summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["operations"],
        summary="Readiness: the service's dependencies answer",
        responses={503: {"description": "A dependency is not ready"}},
    )
    async def readyz() -> JSONResponse:
        failures = await _failed_checks(checks, readiness_timeout)
        if failures:
            return JSONResponse({"status": "not ready", "failed": failures}, status_code=503)
        return JSONResponse({"status": "ready", "checked": sorted(checks)})

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics")
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.exception_handler(PlatformError)
    async def platform_error(_: Request, error: PlatformError) -> JSONResponse:
        return JSONResponse(error.to_body(), status_code=error.status_code)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, error: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            {"error": "validation_failed", "fields": _field_errors(error)}, status_code=422
        )

    app.add_middleware(HttpMetricsMiddleware, metrics=HttpMetrics(registry))
    instrument_fastapi(app)
    return app


async def _failed_checks(checks: Mapping[str, ReadinessCheck], seconds: float) -> dict[str, str]:
    async def run(check: ReadinessCheck) -> str | None:
        try:
            await asyncio.wait_for(check(), seconds)
        except TimeoutError:
            return f"no answer within {seconds} s"
        except Exception as error:
            return f"{type(error).__name__}: {error}"
        return None

    results = await asyncio.gather(*(run(check) for check in checks.values()))
    return {name: result for name, result in zip(checks, results, strict=True) if result}


def _field_errors(error: RequestValidationError) -> list[dict[str, str]]:
    fields = []
    for problem in error.errors():
        location = [str(part) for part in problem.get("loc", ())]
        where = location[0] if location else "request"
        field = ".".join(location[1:]) or where
        fields.append({"field": field, "location": where, "reason": str(problem.get("msg"))})
    return fields
