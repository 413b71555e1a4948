"""The gateway in front of the real services (their applications on a real PostgreSQL, every
one checking tokens itself): tokens, roles, tenants, the composed 360 view, a service that is
down, the public paths and the one OpenAPI document."""

from __future__ import annotations

import asyncio
import base64
import os
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_analytics import bootstrap as analytics
from crm_analytics.adapters import read_model
from crm_analytics.config import AnalyticsSettings
from crm_analytics.domain.projection import project
from crm_contacts import bootstrap as contacts
from crm_contacts.config import ContactsSettings
from crm_devstack.issuer import DevIssuer
from crm_devstack.processes import free_port
from crm_devstack.serving import serving
from crm_gateway.bootstrap import build_app
from crm_gateway.config import GatewaySettings
from crm_gateway.domain.routes import Service
from crm_sales import bootstrap as sales
from crm_sales.config import SalesSettings
from crm_shared.contracts import sales as s
from crm_shared.eventstore import upgrade
from crm_shared.settings import PlatformSettings
from crm_support import bootstrap as support
from crm_support.config import SupportSettings

pytestmark = pytest.mark.integration


def key() -> SecretStr:
    return SecretStr(base64.b64encode(os.urandom(32)).decode())


@dataclass
class Gateway:
    api: httpx.AsyncClient
    issuer: DevIssuer
    schemas: dict[str, str]

    def as_(self, person: str, tenant: str | None, *roles: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.issuer.mint(person, tenant, list(roles))}"}


async def services(
    engine: AsyncEngine, database_url: str, kafka: str, name: str, issuer: DevIssuer
) -> tuple[dict[Service, FastAPI], dict[str, str]]:
    """The four services' apps on the session's engine, each in schemas of its own, with
    their background work switched off."""
    platform = PlatformSettings(
        DATABASE_URL=database_url,
        KAFKA_BOOTSTRAP_SERVERS=kafka,  # type: ignore[call-arg]
        auth_issuer=issuer.url,
    )
    schemas = {s: f"{name}_{s}" for s in ("contacts", "sales", "support", "analytics")}
    await upgrade(database_url, schemas["contacts"], contacts.MIGRATIONS)
    await upgrade(database_url, schemas["sales"], sales.MIGRATIONS)
    await upgrade(database_url, schemas["support"], support.MIGRATIONS)
    await upgrade(database_url, schemas["analytics"], analytics.CONTROL_MIGRATIONS)
    apps: dict[Service, FastAPI] = {
        "contacts": contacts.build_app(
            platform,
            ContactsSettings(
                db_schema=schemas["contacts"],
                run_relay=False,
                run_importer=False,
                key_encryption_key=key(),
            ),
            engine,
        ),
        "sales": sales.build_app(
            platform,
            SalesSettings(
                db_schema=schemas["sales"],
                run_relay=False,
                run_consumer=False,
                run_scheduler=False,
                key_encryption_key=key(),
            ),
            engine,
        ),
        "support": support.build_app(
            platform,
            SupportSettings(
                db_schema=schemas["support"],
                run_relay=False,
                run_consumer=False,
                run_timers=False,
                key_encryption_key=key(),
                survey_signing_key=key(),
            ),
            engine,
        ),
        "analytics": analytics.build_app(
            platform,
            AnalyticsSettings(db_schema=schemas["analytics"], run_consumer=False),
            engine,
        ),
    }
    return apps, schemas


@pytest.fixture
async def gateway(
    engine: AsyncEngine,
    database_url: str,
    kafka_bootstrap: str,
    unique_name: str,
    dev_issuer: DevIssuer,
) -> AsyncIterator[Gateway]:
    apps, schemas = await services(engine, database_url, kafka_bootstrap, unique_name, dev_issuer)
    platform = PlatformSettings(auth_issuer=dev_issuer.url)
    async with serving(apps) as urls:
        app = build_app(platform, gateway_settings(urls))
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://gateway"
            ) as api,
        ):
            yield Gateway(api, dev_issuer, schemas)


@pytest.fixture
async def all_but_analytics(
    engine: AsyncEngine,
    database_url: str,
    kafka_bootstrap: str,
    unique_name: str,
    dev_issuer: DevIssuer,
) -> dict[Service, FastAPI]:
    """Every service but analytics, whose address the test chooses."""
    apps, _ = await services(engine, database_url, kafka_bootstrap, unique_name, dev_issuer)
    del apps["analytics"]
    return apps


def admin_of_acme(issuer: DevIssuer) -> dict[str, str]:
    return {"Authorization": f"Bearer {issuer.mint('ada', 'acme', ['admin'])}"}


def gateway_client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway")


def gateway_settings(urls: Mapping[str, str], **settings: Any) -> GatewaySettings:
    """The gateway, pointed at the services served at ``urls``."""
    return GatewaySettings(**{f"{name}_url": url for name, url in urls.items()}, **settings)


ENDPOINTS = [
    ("GET", "/contacts"),
    ("POST", "/contacts"),
    ("GET", "/accounts"),
    ("GET", "/opportunities"),
    ("POST", "/opportunities"),
    ("GET", "/forecast"),
    ("GET", "/leads"),
    ("GET", "/cases"),
    ("POST", "/cases"),
    ("GET", "/articles"),
    ("GET", "/customers/someone/360"),
    ("GET", "/customers/someone/timeline"),
    ("GET", "/kpis/pipeline"),
    ("GET", "/admin/generations"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
async def test_every_endpoint_refuses_a_missing_forged_or_expired_token(
    gateway: Gateway, method: str, path: str, tmp_path: Path
) -> None:
    api = gateway.api
    assert (await api.request(method, path, json={})).status_code == 401
    impostor = DevIssuer(tmp_path, gateway.issuer.url)
    forged = {"Authorization": f"Bearer {impostor.mint('ada', 'acme', ['admin'])}"}
    assert (await api.request(method, path, json={}, headers=forged)).status_code == 401
    old = gateway.issuer.mint("ada", "acme", ["admin"], lifetime_s=60, issued_at=time.time() - 900)
    expired = {"Authorization": f"Bearer {old}"}
    answer = await api.request(method, path, json={}, headers=expired)
    assert answer.status_code == 401
    assert answer.json()["error"] == "unauthenticated"
    tenantless = gateway.as_("ada", None, "admin")
    assert (await api.request(method, path, json={}, headers=tenantless)).status_code == 403


ROLE_CASES = [
    ("support", "GET", "/opportunities", 403),
    ("support", "POST", "/opportunities", 403),
    ("support", "GET", "/cases", 200),
    ("marketing", "GET", "/cases", 403),
    ("marketing", "GET", "/forecast", 403),
    ("analyst", "POST", "/contacts", 403),
    ("analyst", "GET", "/contacts", 200),
    ("sales", "GET", "/kpis/pipeline", 200),
    ("sales", "POST", "/cases", 403),
    ("support", "GET", "/admin/generations", 403),
    ("admin", "GET", "/admin/generations", 200),
]


@pytest.mark.parametrize(("role", "method", "path", "status"), ROLE_CASES)
async def test_roles_decide_what_each_department_may_do(
    gateway: Gateway, role: str, method: str, path: str, status: int
) -> None:
    answer = await gateway.api.request(
        method, path, json={}, headers=gateway.as_("someone", "acme", role)
    )
    assert answer.status_code == status, answer.text


async def test_no_token_reaches_another_tenants_data_by_any_path(gateway: Gateway) -> None:
    api = gateway.api
    acme = gateway.as_("ada", "acme", "admin")
    made = await api.post("/contacts", json={"last_name": "Hopper"}, headers=acme)
    assert made.status_code == 201, made.text
    contact = made.json()["id"]
    globex = gateway.as_("gus", "globex", "admin")
    assert (await api.get(f"/contacts/{contact}", headers=globex)).status_code == 404
    sneaking = {**globex, "X-Tenant-Id": "acme", "X-Actor-Id": "ada"}
    assert (await api.get(f"/contacts/{contact}", headers=sneaking)).status_code == 404
    assert (await api.get(f"/customers/{contact}/360", headers=globex)).status_code == 404
    listed = await api.get("/contacts", headers=globex)
    assert contact not in listed.text
    assert (await api.get(f"/contacts/{contact}", headers=acme)).status_code == 200


async def test_the_360_view_joins_the_record_and_says_what_is_behind(gateway: Gateway) -> None:
    api = gateway.api
    acme = gateway.as_("ada", "acme", "admin")
    made = await api.post(
        "/contacts", json={"first_name": "Grace", "last_name": "Hopper"}, headers=acme
    )
    contact = made.json()["id"]
    view = await api.get(f"/customers/{contact}/360", headers=acme)
    assert view.status_code == 200, view.text
    body: dict[str, Any] = view.json()
    assert body["record"]["last_name"] == "Hopper"
    assert body["missing"] == []
    assert body["stale"] == ["analytics"]  # its events have not reached the read models yet


async def test_a_service_that_is_down_is_named_and_its_circuit_opens(
    all_but_analytics: dict[Service, FastAPI], dev_issuer: DevIssuer
) -> None:
    apps = all_but_analytics
    acme = admin_of_acme(dev_issuer)
    async with serving(apps) as urls:
        settings = gateway_settings(
            {**urls, "analytics": f"http://127.0.0.1:{free_port()}"},  # nothing listens there
            upstream_timeout_s=0.5,
            breaker_failures=2,
        )
        app = build_app(PlatformSettings(auth_issuer=dev_issuer.url), settings)
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://gateway"
            ) as api,
        ):
            made = await api.post("/contacts", json={"last_name": "Hopper"}, headers=acme)
            contact = made.json()["id"]
            view = await api.get(f"/customers/{contact}/360", headers=acme)
            assert view.status_code == 200
            assert view.json()["missing"] == ["analytics"]
            assert view.json()["record"]["last_name"] == "Hopper"
            assert (await api.get("/kpis/pipeline", headers=acme)).status_code == 503
            started = time.monotonic()
            refused = await api.get("/kpis/pipeline", headers=acme)  # the circuit is open now
            assert refused.status_code == 503
            assert "circuit open" in refused.json()["detail"]
            assert time.monotonic() - started < 0.25


async def test_public_paths_need_no_token_and_unknown_paths_are_404(gateway: Gateway) -> None:
    survey = await gateway.api.get("/public/surveys/not-a-signed-token")
    assert survey.json()["error"] == "survey_link_invalid"  # the support service's own answer
    assert (await gateway.api.get("/nowhere")).status_code == 404


async def test_one_openapi_document_describes_the_public_api(gateway: Gateway) -> None:
    document = (await gateway.api.get("/public-api.json")).json()
    assert document["x-missing-services"] == []
    paths = document["paths"]
    for path in ("/contacts", "/opportunities", "/cases", "/kpis/sales"):
        assert path in paths, path
    assert "/customers/{customer_id}/360" in paths
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert "Contacts_ContactRead" in document["components"]["schemas"] or any(
        name.startswith("Contacts_") for name in document["components"]["schemas"]
    )


async def test_support_agents_see_the_customer_but_not_the_money(
    gateway: Gateway, engine: AsyncEngine
) -> None:
    api = gateway.api
    acme_sales = gateway.as_("sam", "acme", "sales")
    made = await api.post("/contacts", json={"last_name": "Hopper"}, headers=acme_sales)
    contact = made.json()["id"]
    opened = s.OpportunityOpened(
        opportunity_id="o-1",
        pipeline_id="default",
        name="Compilers",
        stage_id="propose",
        probability=40,
        forecast_category="pipeline",
        amount=Decimal("1200.50"),
        currency="EUR",
        expected_close_date=date(2026, 12, 31),
        owner_id="sam",
        contact_id=contact,
    )
    at = datetime.now(UTC)
    async with engine.begin() as connection:
        await read_model.apply(
            connection, gateway.schemas["analytics"], "acme", "e-1", at, project(opened, at)
        )
    for_sales = (await api.get(f"/customers/{contact}/360", headers=acme_sales)).json()
    [deal] = for_sales["opportunities"]["open"]
    assert deal["amount"] == "1200.50"
    acme_support = gateway.as_("sue", "acme", "support")
    for_support = (await api.get(f"/customers/{contact}/360", headers=acme_support)).json()
    [deal] = for_support["opportunities"]["open"]
    assert "amount" not in deal
    assert "totals" not in for_support["opportunities"]
    assert all("amount" not in e["details"] for e in for_support["timeline"]["items"])
    assert for_support["record"]["last_name"] == "Hopper"


async def test_a_sized_answer_is_passed_on_whole_and_an_unsized_export_streamed_through(
    gateway: Gateway,
) -> None:
    api, acme = gateway.api, gateway.as_("ada", "acme", "admin")
    names = [f"Streamed{n}" for n in range(30)]
    for name in names:
        (await api.post("/contacts", json={"last_name": name}, headers=acme)).raise_for_status()
    one = await api.get("/contacts?limit=1", headers=acme)
    assert one.status_code == 200
    assert one.headers["content-length"] == str(len(one.content))

    async with api.stream("GET", "/contacts/export?format=csv", headers=acme) as export:
        assert export.status_code == 200
        assert "content-length" not in export.headers  # not read whole in the gateway
        chunks = [chunk async for chunk in export.aiter_bytes()]
    text = b"".join(chunks).decode()
    assert all(name in text for name in names)


async def test_an_unsized_request_body_is_streamed_up_to_the_service(gateway: Gateway) -> None:
    api, acme = gateway.api, gateway.as_("ada", "acme", "admin")

    async def body() -> AsyncIterator[bytes]:  # no Content-Length: sent chunked
        for part in (b'{"first_name": "Grace", ', b'"last_name": "Hopper"}'):
            yield part

    made = await api.post(
        "/contacts", content=body(), headers={**acme, "Content-Type": "application/json"}
    )
    assert made.status_code == 201, made.text
    assert made.json()["last_name"] == "Hopper"


async def test_a_service_that_accepts_but_never_answers_is_named_missing_in_time(
    all_but_analytics: dict[Service, FastAPI], dev_issuer: DevIssuer
) -> None:
    apps = all_but_analytics
    silent = await asyncio.start_server(lambda reader, writer: None, "127.0.0.1", 0)
    silent_port = silent.sockets[0].getsockname()[1]
    acme = admin_of_acme(dev_issuer)
    try:
        async with serving(apps) as urls:
            settings = gateway_settings(
                {**urls, "analytics": f"http://127.0.0.1:{silent_port}"}, upstream_timeout_s=0.5
            )
            app = build_app(PlatformSettings(auth_issuer=dev_issuer.url), settings)
            async with app.router.lifespan_context(app), gateway_client(app) as api:
                made = await api.post("/contacts", json={"last_name": "Hopper"}, headers=acme)
                started = time.monotonic()
                view = await api.get(f"/customers/{made.json()['id']}/360", headers=acme)
                waited = time.monotonic() - started
    finally:
        silent.close()
    assert view.status_code == 200
    assert view.json()["missing"] == ["analytics"]
    assert view.json()["record"]["last_name"] == "Hopper"
    assert 0.5 <= waited < 1.5  # the upstream timeout, not a hang
