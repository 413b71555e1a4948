"""Every route of every service runs on the event loop: an endpoint or dependency written as a
plain function is run by FastAPI in a worker thread, a hand-off per request (a twentieth of a
write's CPU when ``If-Match`` was read that way) and a thread that contends for the GIL."""

from __future__ import annotations

import base64
import importlib
import inspect
import os

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import BaseRoute

SERVICES = ["contacts", "sales", "support", "analytics", "gateway"]
KEYS = [
    "CONTACTS_KEY_ENCRYPTION_KEY",
    "SALES_KEY_ENCRYPTION_KEY",
    "SUPPORT_KEY_ENCRYPTION_KEY",
    "SUPPORT_SURVEY_SIGNING_KEY",
]


def app_of(service: str, monkeypatch: pytest.MonkeyPatch) -> FastAPI:
    for key in KEYS:
        monkeypatch.setenv(key, base64.b64encode(os.urandom(32)).decode())
    monkeypatch.setenv("CRM_LOG_LEVEL", "ERROR")
    app: FastAPI = importlib.import_module(f"crm_{service}.entrypoints.main").create_app()
    return app


def run_in_threads(dependant: Dependant) -> list[str]:
    """The endpoint and the dependencies FastAPI would run in its thread pool."""
    found = []
    call = dependant.call
    if call is not None and not (
        inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call)
    ):
        found.append(getattr(call, "__qualname__", repr(call)))
    for dependency in dependant.dependencies:
        found.extend(run_in_threads(dependency))
    return found


def api_routes(routes: list[BaseRoute]) -> list[APIRoute]:
    """Every API route, those of included routers too (FastAPI 0.16x keeps an included router
    whole rather than copying its routes; ``iter_route_contexts`` walks into it)."""
    return [
        route.original_route
        for route in iter_route_contexts(routes)
        if isinstance(route.original_route, APIRoute)
    ]


@pytest.mark.parametrize("service", SERVICES)
def test_no_route_of_the_service_runs_code_in_a_worker_thread(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = app_of(service, monkeypatch)
    routes = api_routes(app.routes)
    assert len(routes) > 3  # the operations routes and the service's own
    blocking = {
        f"{sorted(route.methods)[0]} {route.path}: {name}"
        for route in routes
        for name in run_in_threads(route.dependant)
    }
    assert blocking == set()
