"""Every service answers health, readiness and metrics, and explains its errors."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import APIRouter, FastAPI, HTTPException
from prometheus_client import CollectorRegistry
from pydantic import BaseModel, EmailStr, Field

from crm_shared.errors import ConcurrencyConflict, NotFound, PlatformError
from crm_shared.http import ReadinessChecks, add_routes, create_service_app
from crm_shared.http.requests import Expected, Who


class NewContact(BaseModel):
    name: str = Field(min_length=1)
    email: EmailStr
    age: int | None = None


class QuotaExceeded(PlatformError):
    status_code = 429
    code = "quota_exceeded"


async def database_ok() -> None:
    return None


async def broker_down() -> None:
    raise ConnectionRefusedError("127.0.0.1:9092 refused the connection")


async def database_hangs() -> None:
    await asyncio.sleep(10)


def build(checks: ReadinessChecks = (), registry: CollectorRegistry | None = None) -> FastAPI:
    app = create_service_app(
        "Test service",
        "1.2.3",
        registry or CollectorRegistry(),
        checks,
        description="A service for the tests.",
        readiness_timeout=0.2,
    )

    @app.post("/contacts", status_code=201)
    async def create(contact: NewContact) -> dict[str, str]:
        return {"name": contact.name}

    @app.get("/contacts/{contact_id}")
    async def get(contact_id: str) -> dict[str, str]:
        if contact_id == "stale":
            raise ConcurrencyConflict("contact-1", expected_version=3, actual_version=4)
        if contact_id == "greedy":
            raise QuotaExceeded("100 contacts a minute at most", retry_after_s=12)
        if contact_id == "unchanged":
            raise HTTPException(304)
        if contact_id == "teapot":
            raise HTTPException(418, "short and stout")
        if contact_id == "buggy":
            raise RuntimeError("a bug")
        raise NotFound(f"no contact {contact_id}")

    return app


def client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


class TestProbes:
    async def test_liveness_answers_without_any_infrastructure(self) -> None:
        async with client(build({"broker": broker_down, "database": database_hangs})) as http:
            response = await http.get("/healthz")
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}

    async def test_readiness_is_503_naming_the_check_that_failed_and_why(self) -> None:
        async with client(build({"database": database_ok, "broker": broker_down})) as http:
            response = await http.get("/readyz")
        assert response.status_code == 503
        body = response.json()
        assert body["status"] == "not ready"
        assert list(body["failed"]) == ["broker"]
        assert "refused" in body["failed"]["broker"]

    async def test_a_check_that_does_not_answer_in_time_fails(self) -> None:
        async with client(build({"database": database_hangs})) as http:
            response = await http.get("/readyz")
        assert response.status_code == 503
        assert response.json()["failed"] == {"database": "no answer within 0.2 s"}

    async def test_readiness_passes_when_every_dependency_answers(self) -> None:
        async with client(build({"database": database_ok})) as http:
            response = await http.get("/readyz")
        assert response.status_code == 200
        assert response.json() == {"status": "ready", "checked": ["database"], "failed": {}}

    async def test_checks_given_as_functions_are_named_after_them(self) -> None:
        async with client(build([database_ok, broker_down])) as http:
            response = await http.get("/readyz")
        assert response.json()["checked"] == ["broker_down", "database_ok"]
        assert list(response.json()["failed"]) == ["broker_down"]


class TestMetrics:
    async def test_requests_are_counted_by_route_template(self) -> None:
        async with client(build()) as http:
            for contact in ("a", "b", "c"):
                await http.get(f"/contacts/{contact}")
            response = await http.get("/metrics")
        assert response.headers["content-type"].startswith("text/plain")
        exposition = response.text
        assert (
            'http_requests_total{method="GET",route="/contacts/{contact_id}",status="404"} 3.0'
            in exposition
        )
        assert "/contacts/a" not in exposition

    async def test_the_metrics_of_the_given_registry_are_exposed(self) -> None:
        registry = CollectorRegistry()
        from crm_shared.telemetry import RelayMetrics

        RelayMetrics(registry, service="contacts", topic="crm.contacts.events").backlog.set(9)
        async with client(build(registry=registry)) as http:
            exposition = (await http.get("/metrics")).text
        assert (
            'crm_relay_backlog_events{service="contacts",topic="crm.contacts.events"} 9.0'
            in exposition
        )


class TestErrors:
    async def test_a_platform_error_answers_its_status_and_body(self) -> None:
        async with client(build()) as http:
            response = await http.get("/contacts/greedy")
        assert response.status_code == 429
        assert response.json() == {
            "error": "quota_exceeded",
            "detail": "100 contacts a minute at most",
            "retry_after_s": 12,
        }

    async def test_an_unknown_id_is_a_404(self) -> None:
        async with client(build()) as http:
            response = await http.get("/contacts/nobody")
        assert response.status_code == 404
        assert response.json() == {"error": "not_found", "detail": "no contact nobody"}

    async def test_a_stale_write_is_a_409_with_both_versions(self) -> None:
        async with client(build()) as http:
            response = await http.get("/contacts/stale")
        assert response.status_code == 409
        body = response.json()
        assert body["error"] == "concurrency_conflict"
        assert body["expected_version"] == 3
        assert body["actual_version"] == 4

    async def test_bad_input_is_a_422_naming_each_field_where_and_why(self) -> None:
        async with client(build()) as http:
            response = await http.post("/contacts", json={"name": "", "email": "not-an-email"})
        assert response.status_code == 422
        body = response.json()
        assert body["error"] == "validation_failed"
        by_field = {f["field"]: f for f in body["fields"]}
        assert set(by_field) == {"name", "email"}
        assert by_field["email"]["location"] == "body"
        assert "email" in by_field["email"]["reason"]
        assert "name" in body["detail"]

    async def test_a_missing_body_is_a_422_too(self) -> None:
        async with client(build()) as http:
            response = await http.post("/contacts")
        assert response.status_code == 422
        assert response.json()["fields"][0]["location"] == "body"

    async def test_an_http_exception_answers_in_the_same_shape(self) -> None:
        async with client(build()) as http:
            teapot = await http.get("/contacts/teapot")
            nowhere = await http.get("/nowhere")
            wrong_method = await http.delete("/contacts")
        assert teapot.status_code == 418
        assert teapot.json() == {"error": "i_m_a_teapot", "detail": "short and stout"}
        assert nowhere.json() == {"error": "not_found", "detail": "Not Found"}
        assert wrong_method.status_code == 405
        assert wrong_method.headers["allow"] == "POST"

    async def test_an_http_exception_without_a_body_sends_none(self) -> None:
        async with client(build()) as http:
            response = await http.get("/contacts/unchanged")
        assert response.status_code == 304
        assert response.content == b""

    async def test_an_unexpected_failure_is_a_500_without_internals(self) -> None:
        async with client(build()) as http:
            response = await http.get("/contacts/buggy")
        assert response.status_code == 500
        assert response.json()["error"] == "internal_error"
        assert "a bug" not in response.text


class TestOpenApi:
    async def test_the_document_describes_the_service_and_its_operations(self) -> None:
        async with client(build()) as http:
            document = (await http.get("/openapi.json")).json()
        assert document["info"] == {
            "title": "Test service",
            "version": "1.2.3",
            "description": "A service for the tests.",
        }
        assert {"/healthz", "/readyz", "/metrics", "/contacts"} <= set(document["paths"])
        assert "503" in document["paths"]["/readyz"]["get"]["responses"]

    async def test_the_422_answer_is_documented_as_it_is_sent(self) -> None:
        async with client(build()) as http:
            document = (await http.get("/openapi.json")).json()
        answer = document["paths"]["/contacts"]["post"]["responses"]["422"]
        schema = answer["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/ValidationProblem"}
        schemas = document["components"]["schemas"]
        assert {"ValidationProblem", "FieldProblem"} <= set(schemas)
        assert "HTTPValidationError" not in schemas
        assert set(schemas["ValidationProblem"]["required"]) == {"error", "detail", "fields"}

    async def test_the_headers_read_are_documented_where_they_are_read(self) -> None:
        app = build()
        router = APIRouter(prefix="/deals")

        @router.get("/{deal_id}")
        async def get_deal(deal_id: str, who: Who) -> dict[str, str]:
            return {"id": deal_id, "tenant": who.tenant_id}

        @router.patch("/{deal_id}")
        async def change_deal(deal_id: str, who: Who, version: Expected) -> dict[str, int]:
            return {"version": version + 1}

        app.include_router(router)
        async with client(app) as http:
            document = (await http.get("/openapi.json")).json()
            refused = await http.get("/deals/d-1", headers={"X-Actor-Id": "ada"})
        operation = document["paths"]["/deals/{deal_id}"]["get"]
        headers = [p["name"] for p in operation["parameters"] if p["in"] == "header"]
        assert headers == ["authorization", "x-tenant-id", "x-actor-id", "x-correlation-id"]
        assert operation["responses"]["422"]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/ValidationProblem"
        }
        change = document["paths"]["/deals/{deal_id}"]["patch"]
        assert [p["name"] for p in change["parameters"] if p["in"] == "header"][-1] == "if-match"
        reads_no_caller = document["paths"]["/contacts/{contact_id}"]["get"]
        assert [p["name"] for p in reads_no_caller["parameters"]] == ["contact_id"]
        assert refused.status_code == 422
        assert refused.json()["fields"] == [
            {"field": "x-tenant-id", "location": "header", "reason": "required without a token"}
        ]


def test_building_the_app_connects_to_nothing() -> None:
    calls: list[str] = []

    async def database() -> None:
        calls.append("database")

    build({"database": database})
    assert calls == []


def notes_router() -> APIRouter:
    router = APIRouter(prefix="/notes", tags=["notes"], responses={404: {"description": "Gone"}})

    @router.get("/{note_id}")
    async def read_note(note_id: int, who: Who) -> dict[str, object]:
        return {"id": note_id, "tenant": who.tenant_id}

    @router.post("", status_code=201)
    async def write_note(body: NewContact) -> dict[str, str]:
        return {"name": body.name}

    return router


class TestRoutesAddedToTheApp:
    """``add_routes(app, router)`` is ``app.include_router(router)``, as the app's own routes."""

    async def test_they_answer_and_are_documented_as_an_included_router_would_be(self) -> None:
        included, added = build(), build()
        included.include_router(notes_router())
        add_routes(added, notes_router())
        assert added.openapi() == included.openapi()
        caller = {"X-Tenant-Id": "acme", "X-Actor-Id": "ada"}
        for app in (included, added):
            async with client(app) as http:
                read = await http.get("/notes/7", headers=caller)
                refused = await http.get("/notes/seven", headers=caller)
                written = await http.post("/notes", json={"name": "N", "email": "n@x.example"})
            assert (read.status_code, read.json()) == (200, {"id": 7, "tenant": "acme"})
            assert refused.status_code == 422
            assert written.status_code == 201

    def test_they_are_the_apps_own_entries(self) -> None:
        app = build()
        add_routes(app, notes_router())
        own_paths = {getattr(route, "path", None) for route in app.router.routes}
        assert {"/notes/{note_id}", "/notes"} <= own_paths
