"""The FastAPI base of every service: health, readiness, metrics, tracing, typed errors."""

from crm_shared.http.app import ReadinessCheck, create_service_app

__all__ = ["ReadinessCheck", "create_service_app"]
