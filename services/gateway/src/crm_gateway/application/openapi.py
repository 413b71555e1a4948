"""One OpenAPI document for the public API: the gateway's own operations and every service's,
as the gateway routes them, with the bearer token scheme. Each service's schemas are renamed
with its name (``Contacts_ContactRead``) so that two services' models never collide."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, FastAPI

from crm_gateway.adapters.upstreams import Upstreams, UpstreamUnavailable
from crm_gateway.domain.routes import Service, route

OPERATIONS_PATHS = ("/healthz", "/readyz", "/metrics", "/livez")


class PublicOpenApi:
    def __init__(
        self, app: FastAPI, upstreams: Upstreams, cache_s: float, issuer: str | None
    ) -> None:
        self.app = app
        self.upstreams = upstreams
        self.cache_s = cache_s
        self.issuer = issuer
        self._cached: tuple[float, dict[str, Any]] | None = None

    def router(self) -> APIRouter:
        router = APIRouter()

        @router.get("/public-api.json", tags=["operations"])
        async def public_api() -> dict[str, Any]:
            """The OpenAPI document of the whole public API (every service, as routed here);
            a service that does not answer is listed in ``x-missing-services``."""
            return await self.document()

        return router

    async def document(self) -> dict[str, Any]:
        now = time.monotonic()
        if self._cached is not None and now - self._cached[0] < self.cache_s:
            return self._cached[1]
        merged = self.app.openapi()
        merged = {**merged, "paths": dict(merged["paths"])}
        merged.setdefault("components", {}).setdefault("schemas", {})
        missing = []
        services: tuple[Service, ...] = ("contacts", "sales", "support", "analytics")
        for service in services:
            try:
                answer = await self.upstreams.call(service, "GET", "/openapi.json")
            except UpstreamUnavailable:
                missing.append(service)
                continue
            if answer.status_code != 200:
                missing.append(service)
                continue
            _merge(merged, service, answer.json())
        merged["components"]["securitySchemes"] = {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": f"An access token of the issuer {self.issuer or '(none set)'}.",
            }
        }
        merged["security"] = [{"bearer": []}]
        merged["x-missing-services"] = missing
        if not missing:
            self._cached = (now, merged)
        return merged


def _merge(into: dict[str, Any], service: Service, document: dict[str, Any]) -> None:
    prefix = service.capitalize() + "_"
    renamed = _renamed(document, prefix)
    for path, operations in renamed.get("paths", {}).items():
        found = route(path)
        if path in OPERATIONS_PATHS or found is None or found.service != service:
            continue
        if path in into["paths"]:  # the gateway's own (the composed 360 view) wins
            continue
        into["paths"][path] = operations
    for name, schema in renamed.get("components", {}).get("schemas", {}).items():
        into["components"]["schemas"][name] = schema


def _renamed(node: Any, prefix: str) -> Any:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                head, _, name = value.rpartition("/")
                out[key] = f"{head}/{prefix}{name}"
            elif key == "schemas" and isinstance(value, dict):
                out[key] = {prefix + name: _renamed(v, prefix) for name, v in value.items()}
            else:
                out[key] = _renamed(value, prefix)
        return out
    if isinstance(node, list):
        return [_renamed(item, prefix) for item in node]
    return node
