"""The FastAPI base of every service: health, readiness, metrics, tracing, typed errors."""

from crm_shared.http.app import add_routes, create_service_app
from crm_shared.http.probes import (
    Liveness,
    Readiness,
    ReadinessCheck,
    ReadinessChecks,
    database_reachable,
)
from crm_shared.http.problems import FieldProblem, Problem, ValidationProblem

__all__ = [
    "FieldProblem",
    "Liveness",
    "Problem",
    "Readiness",
    "ReadinessCheck",
    "ReadinessChecks",
    "ValidationProblem",
    "add_routes",
    "create_service_app",
    "database_reachable",
]
