"""Every service checks the bearer token itself (the gateway is not the only wall): with an
issuer configured, a request without a valid token is refused, a token's tenant is the only
tenant it reaches, and a service account acts for the tenant it names."""

from __future__ import annotations

import base64
import os
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_analytics import bootstrap as analytics
from crm_analytics.config import AnalyticsSettings
from crm_contacts import bootstrap as contacts
from crm_contacts.config import ContactsSettings
from crm_devstack.issuer import DevIssuer
from crm_sales import bootstrap as sales
from crm_sales.config import SalesSettings
from crm_shared.eventstore import upgrade
from crm_shared.settings import PlatformSettings
from crm_support import bootstrap as support
from crm_support.config import SupportSettings

pytestmark = pytest.mark.integration


def key() -> SecretStr:
    return SecretStr(base64.b64encode(os.urandom(32)).decode())


SERVICES: dict[str, tuple[list[Any], Callable[..., FastAPI], Callable[[str], Any], str]] = {
    "contacts": (
        contacts.MIGRATIONS,
        contacts.build_app,
        lambda s: ContactsSettings(
            db_schema=s, run_relay=False, run_importer=False, key_encryption_key=key()
        ),
        "/contacts",
    ),
    "sales": (
        sales.MIGRATIONS,
        sales.build_app,
        lambda s: SalesSettings(
            db_schema=s,
            run_relay=False,
            run_consumer=False,
            run_scheduler=False,
            key_encryption_key=key(),
        ),
        "/opportunities",
    ),
    "support": (
        support.MIGRATIONS,
        support.build_app,
        lambda s: SupportSettings(
            db_schema=s,
            run_relay=False,
            run_consumer=False,
            run_timers=False,
            key_encryption_key=key(),
            survey_signing_key=key(),
        ),
        "/cases",
    ),
    "analytics": (
        analytics.CONTROL_MIGRATIONS,
        analytics.build_app,
        lambda s: AnalyticsSettings(db_schema=s, run_consumer=False),
        "/kpis/pipeline",
    ),
}


@pytest.fixture(params=sorted(SERVICES))
async def service(
    request: pytest.FixtureRequest,
    engine: AsyncEngine,
    database_url: str,
    kafka_bootstrap: str,
    unique_name: str,
    dev_issuer: DevIssuer,
) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    migrations, build_app, settings, listing = SERVICES[request.param]
    await upgrade(database_url, unique_name, migrations)
    platform = PlatformSettings(
        DATABASE_URL=database_url,
        KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap,  # type: ignore[call-arg]
        auth_issuer=dev_issuer.url,
    )
    app = build_app(platform, settings(unique_name), engine)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=f"http://{request.param}"
    ) as client:
        yield client, listing


def bearer(token: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}


async def test_no_token_a_forged_one_or_an_expired_one_is_refused(
    service: tuple[httpx.AsyncClient, str], dev_issuer: DevIssuer, tmp_path: Path
) -> None:
    api, listing = service
    trusted_headers = await api.get(listing, headers={"X-Tenant-Id": "acme", "X-Actor-Id": "x"})
    assert trusted_headers.status_code == 401
    assert trusted_headers.headers["www-authenticate"].startswith("Bearer")
    impostor = DevIssuer(tmp_path, dev_issuer.url)
    forged = await api.get(listing, headers=bearer(impostor.mint("ada", "acme", ["admin"])))
    assert forged.status_code == 401
    expired = dev_issuer.mint("ada", "acme", ["admin"], lifetime_s=60, issued_at=time.time() - 900)
    assert (await api.get(listing, headers=bearer(expired))).status_code == 401
    assert (await api.get(listing, headers={"Authorization": "Basic YWRhOg=="})).status_code == 401
    valid = await api.get(listing, headers=bearer(dev_issuer.mint("ada", "acme", ["admin"])))
    assert valid.status_code == 200, valid.text


async def test_a_token_without_a_tenant_reaches_none_unless_a_service_names_one(
    service: tuple[httpx.AsyncClient, str], dev_issuer: DevIssuer
) -> None:
    api, listing = service
    tenantless = dev_issuer.mint("someone", None, ["admin"])
    assert (await api.get(listing, headers=bearer(tenantless))).status_code == 403
    account = dev_issuer.mint("crm-gateway", None, ["service"])
    acting = await api.get(listing, headers=bearer(account, **{"X-Tenant-Id": "acme"}))
    assert acting.status_code == 200, acting.text


async def test_a_person_cannot_name_another_tenant_in_a_header(
    dev_issuer: DevIssuer,
    engine: AsyncEngine,
    database_url: str,
    kafka_bootstrap: str,
    unique_name: str,
) -> None:
    await upgrade(database_url, unique_name, contacts.MIGRATIONS)
    platform = PlatformSettings(
        DATABASE_URL=database_url,
        KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap,  # type: ignore[call-arg]
        auth_issuer=dev_issuer.url,
    )
    app = contacts.build_app(
        platform,
        ContactsSettings(
            db_schema=unique_name, run_relay=False, run_importer=False, key_encryption_key=key()
        ),
        engine,
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://contacts"
    ) as api:
        acme = bearer(dev_issuer.mint("ada", "acme", ["admin"]))
        made = await api.post("/contacts", json={"last_name": "Hopper"}, headers=acme)
        assert made.status_code == 201, made.text
        contact = made.json()["id"]
        gus = dev_issuer.mint("gus", "globex", ["admin"])
        assert (await api.get(f"/contacts/{contact}", headers=bearer(gus))).status_code == 404
        sneaking = bearer(gus, **{"X-Tenant-Id": "acme"})
        assert (await api.get(f"/contacts/{contact}", headers=sneaking)).status_code == 404
        assert (await api.get(f"/contacts/{contact}", headers=acme)).status_code == 200


async def test_each_service_applies_the_department_roles_itself(
    service: tuple[httpx.AsyncClient, str], dev_issuer: DevIssuer
) -> None:
    api, listing = service
    allowed_roles = {
        "/contacts": "marketing",
        "/opportunities": "sales",
        "/cases": "support",
        "/kpis/pipeline": "analyst",
    }
    refused_roles = {
        "/contacts": None,
        "/opportunities": "support",
        "/cases": "marketing",
        "/kpis/pipeline": None,
    }
    role = allowed_roles[listing]
    mine = await api.get(listing, headers=bearer(dev_issuer.mint("x", "acme", [role])))
    assert mine.status_code == 200, mine.text
    other = refused_roles[listing]
    if other is not None:
        theirs = await api.get(listing, headers=bearer(dev_issuer.mint("x", "acme", [other])))
        assert theirs.status_code == 403
    nobody = await api.get(listing, headers=bearer(dev_issuer.mint("x", "acme", [])))
    assert nobody.status_code == 403
