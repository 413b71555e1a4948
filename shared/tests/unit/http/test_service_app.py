"""Every service answers health, readiness and metrics, and explains its errors."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from pydantic import BaseModel, EmailStr, Field

from crm_shared.errors import ConcurrencyConflict, NotFound
from crm_shared.http import create_service_app


class NewContact(BaseModel):
    name: str = Field(min_length=1)
    email: EmailStr
    age: int | None = None


async def database_ok() -> None:
    return None


async def broker_down() -> None:
    raise ConnectionRefusedError("127.0.0.1:9092 refused the connection")


def build(checks: dict[str, object] | None = None) -> FastAPI:
    app = create_service_app(
        "Test service", "1.0.0", CollectorRegistry(), readiness_checks=checks or {}
    )

    @app.post("/contacts", status_code=201)
    async def create(contact: NewContact) -> dict[str, str]:
        return {"name": contact.name}

    @app.get("/contacts/{contact_id}")
    async def get(contact_id: str) -> dict[str, str]:
        if contact_id == "stale":
            raise ConcurrencyConflict("contact-1", expected_version=3, actual_version=4)
        raise NotFound(f"no contact {contact_id}")

    return app


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


async def test_liveness_needs_no_infrastructure() -> None:
    async with client(build({"broker": broker_down})) as http:
        response = await http.get("/healthz")
    assert response.status_code == 200


async def test_readiness_names_the_dependency_that_failed() -> None:
    async with client(build({"database": database_ok, "broker": broker_down})) as http:
        response = await http.get("/readyz")
    assert response.status_code == 503
    assert list(response.json()["failed"]) == ["broker"]
    assert "refused" in response.json()["failed"]["broker"]


async def test_readiness_passes_when_every_dependency_answers() -> None:
    async with client(build({"database": database_ok})) as http:
        response = await http.get("/readyz")
    assert response.json() == {"status": "ready", "checked": ["database"]}


async def test_bad_input_is_a_422_naming_each_field_and_why() -> None:
    async with client(build()) as http:
        response = await http.post("/contacts", json={"name": "", "email": "not-an-email"})
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "validation_failed"
    by_field = {f["field"]: f for f in body["fields"]}
    assert set(by_field) == {"name", "email"}
    assert by_field["email"]["location"] == "body"
    assert "email" in by_field["email"]["reason"]


async def test_a_stale_write_is_a_409_with_both_versions() -> None:
    async with client(build()) as http:
        response = await http.get("/contacts/stale")
    assert response.status_code == 409
    assert response.json()["expected_version"] == 3
    assert response.json()["actual_version"] == 4


async def test_an_unknown_id_is_a_404() -> None:
    async with client(build()) as http:
        response = await http.get("/contacts/nobody")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


async def test_metrics_count_requests_by_route_template() -> None:
    app = build()
    async with client(app) as http:
        for contact in ("a", "b", "c"):
            await http.get(f"/contacts/{contact}")
        exposition = (await http.get("/metrics")).text
    assert (
        'http_requests_total{method="GET",route="/contacts/{contact_id}",status="404"} 3.0'
        in exposition
    )
    assert "/contacts/a" not in exposition


@pytest.mark.parametrize("path", ["/openapi.json"])
async def test_the_openapi_document_describes_the_operations(path: str) -> None:
    async with client(build()) as http:
        document = (await http.get(path)).json()
    assert {"/healthz", "/readyz", "/metrics", "/contacts"} <= set(document["paths"])
