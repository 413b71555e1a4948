"""The operations routes: liveness, readiness and the Prometheus scrape.

- ``GET /healthz``: liveness. Answers without touching Kafka or PostgreSQL, so a broker outage
  never makes Kubernetes restart every pod.
- ``GET /readyz``: readiness. Runs the service's checks at once, each within a timeout, and
  answers 503 naming those that failed and why.
- ``GET /metrics``: Prometheus exposition of the service's registry.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Literal, TypeAlias

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from pydantic import BaseModel, Field
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

ReadinessCheck: TypeAlias = Callable[[], Awaitable[None]]
"""Raises when a dependency is not usable; returns when it is."""

ReadinessChecks: TypeAlias = Mapping[str, ReadinessCheck] | Sequence[ReadinessCheck]
"""Checks by name, or a sequence of checks named after their functions."""

_log = logging.getLogger(__name__)


class Liveness(BaseModel):
    status: Literal["ok"] = "ok"


class Readiness(BaseModel):
    status: Literal["ready", "not ready"]
    checked: list[str] = Field(description="Every check that ran.")
    failed: dict[str, str] = Field(
        default_factory=dict, description="The checks that failed, and why."
    )


def named_checks(checks: ReadinessChecks) -> dict[str, ReadinessCheck]:
    """The checks by name; a sequence's are named after their functions (``database_ready``)."""
    if isinstance(checks, Mapping):
        return dict(checks)
    named: dict[str, ReadinessCheck] = {}
    for check in checks:
        name = getattr(check, "__name__", type(check).__name__)
        unique, n = name, 1
        while unique in named:
            n += 1
            unique = f"{name}#{n}"
        named[unique] = check
    return named


def database_reachable(engine: AsyncEngine) -> ReadinessCheck:
    """A readiness check: the service's database answers ``SELECT 1``."""

    async def database() -> None:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    return database


def operations_router(
    registry: CollectorRegistry, checks: ReadinessChecks, timeout: float
) -> APIRouter:
    named = named_checks(checks)
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="Liveness: the process answers")
    async def healthz() -> Liveness:
        """Never looks at Kafka or PostgreSQL: their outage must not restart the service."""
        return Liveness()

    @router.get(
        "/readyz",
        summary="Readiness: the service's dependencies answer",
        response_model=Readiness,
        responses={503: {"model": Readiness, "description": "A dependency is not ready"}},
    )
    async def readyz() -> JSONResponse:
        """Runs every readiness check (database, broker...) at once, each within a timeout."""
        failed = await failed_checks(named, timeout)
        report = Readiness(
            status="not ready" if failed else "ready", checked=sorted(named), failed=failed
        )
        return JSONResponse(report.model_dump(), status_code=503 if failed else 200)

    @router.get(
        "/metrics",
        summary="Prometheus metrics",
        response_class=Response,
        responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    )
    async def metrics() -> Response:
        """The service's metrics in the Prometheus text exposition format."""
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    return router


async def failed_checks(checks: Mapping[str, ReadinessCheck], seconds: float) -> dict[str, str]:
    """The checks that raised or did not return within ``seconds``, with the reason."""

    async def run(name: str, check: ReadinessCheck) -> str | None:
        try:
            await asyncio.wait_for(check(), seconds)
        except TimeoutError:
            reason = f"no answer within {seconds} s"
        except Exception as error:
            reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
        else:
            return None
        _log.warning("readiness check %s failed: %s", name, reason)
        return reason

    reasons = await asyncio.gather(*(run(name, check) for name, check in checks.items()))
    return {name: reason for name, reason in zip(checks, reasons, strict=True) if reason}
