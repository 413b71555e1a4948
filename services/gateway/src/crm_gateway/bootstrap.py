"""Composition root: builds the gateway from its settings; nothing runs at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from crm_gateway.adapters.upstreams import Upstreams
from crm_gateway.application.customer_360 import CustomerViews
from crm_gateway.application.openapi import PublicOpenApi
from crm_gateway.config import GatewaySettings
from crm_gateway.domain.routes import Service
from crm_gateway.entrypoints.api import Gatekeeper, gateway_router
from crm_shared.http import add_routes, create_service_app
from crm_shared.http.authentication import token_verifier
from crm_shared.settings import PlatformSettings


def build_app(platform: PlatformSettings, settings: GatewaySettings) -> FastAPI:
    urls: dict[Service, str] = {
        "contacts": settings.contacts_url,
        "sales": settings.sales_url,
        "support": settings.support_url,
        "analytics": settings.analytics_url,
    }
    upstreams = Upstreams(
        urls,
        settings.upstream_timeout_s,
        settings.breaker_failures,
        settings.breaker_reset_s,
    )
    verifier = token_verifier(platform)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await upstreams.close()

    app = create_service_app(
        "CRM public API",
        "0.1.0",
        CollectorRegistry(),
        description="One origin for every service of the CRM, with bearer tokens and roles.",
        lifespan=lifespan,
        auth=verifier,
    )
    public_openapi = PublicOpenApi(app, upstreams, settings.openapi_cache_s, platform.auth_issuer)
    add_routes(app, public_openapi.router())
    add_routes(app, gateway_router(upstreams, CustomerViews(upstreams), Gatekeeper()))
    return app
