"""The public API: the 360-degree view composed here, everything else passed to the service
that owns the resource, after the caller's token and roles are checked."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from pydantic_core import to_json
from starlette.background import BackgroundTask
from starlette.requests import ClientDisconnect

from crm_gateway.adapters.upstreams import Upstreams
from crm_gateway.application.customer_360 import CustomerViews
from crm_gateway.domain.routes import route
from crm_shared.auth import Forbidden, Principal
from crm_shared.auth.access import EVERYONE, RESOURCE_ACCESS, allowed
from crm_shared.errors import NotFound
from crm_shared.http.authentication import principal_of
from crm_shared.http.direct_routes import DirectRoute
from crm_shared.http.requests import first_headers

FORWARDED_REQUEST_HEADERS = (
    "authorization",
    "content-type",
    "accept",
    "if-match",
    "if-none-match",
    "idempotency-key",
    "x-correlation-id",
    "user-agent",
)
FORWARDED_RESPONSE_HEADERS = (
    "content-type",
    "etag",
    "location",
    "content-disposition",
    "retry-after",
    "cache-control",
    "www-authenticate",
)
FORWARDED = frozenset(name.encode() for name in FORWARDED_REQUEST_HEADERS)
READ_AT_THE_GATE = FORWARDED | {b"x-tenant-id", b"x-actor-id"}
"""What is forwarded, and the tenant and actor a service account (or a caller when tokens are
not in use) names."""
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]
CLIENT_CLOSED_REQUEST = 499
AUTHORIZATION_HEADER = {
    "name": "authorization",
    "in": "header",
    "required": False,
    "description": "Bearer <token>",
    "schema": {
        "anyOf": [{"type": "string"}, {"type": "null"}],
        "description": "Bearer <token>",
        "title": "Authorization",
    },
}
"""The header the gatekeeper reads, documented as a ``Header`` parameter would be; FastAPI
checked such a parameter on every request, for a value the gatekeeper reads anyway."""


class Gatekeeper:
    """Checks the caller at the gateway (the services check it again), with the token checker
    every service uses (the app's, installed by ``create_service_app``)."""

    @staticmethod
    async def principal(request: Request) -> Principal | None:
        """The token's principal; None without an issuer configured (development)."""
        return await principal_of(request, request.headers.get("authorization"))

    @staticmethod
    def roles(principal: Principal | None) -> frozenset[str]:
        return EVERYONE if principal is None else principal.roles

    def headers(self, request: Request, principal: Principal | None) -> dict[str, str]:
        """What the service is told: the token (it checks it too), never a tenant the caller
        names itself unless it is a service account or tokens are not in use."""
        sent = first_headers(request.scope, READ_AT_THE_GATE)
        passed_on = READ_AT_THE_GATE if principal is None or principal.is_service else FORWARDED
        return {name.decode(): value for name, value in sent.items() if name in passed_on}


def gateway_router(upstreams: Upstreams, views: CustomerViews, gate: Gatekeeper) -> APIRouter:
    router = APIRouter(route_class=DirectRoute)

    @router.get(
        "/customers/{customer_id}/360",
        tags=["customers"],
        response_model=dict[str, Any],
        openapi_extra={"parameters": [AUTHORIZATION_HEADER]},
    )
    async def customer_360(customer_id: str, request: Request) -> Response:
        """Everything about a contact or an organisation: its record (name, channels: from
        the contacts service, so an erased person shows none), consent, organisations or
        people, opportunities (amounts only for sales, analysts and admins), cases with SLA
        state and satisfaction, activities and the timeline. A part whose service does not
        answer in time is named in ``missing`` and the rest is answered."""
        principal = await gate.principal(request)
        roles = gate.roles(principal)
        if not allowed(RESOURCE_ACCESS["customers"], "GET", roles):
            raise Forbidden("your roles do not allow reading customers")
        view = await views.view(customer_id, gate.headers(request, principal), roles)
        # JSON from JSON: nothing for FastAPI's response model to check or convert
        return Response(to_json(view), media_type="application/json")

    @router.api_route("/{path:path}", methods=METHODS, include_in_schema=False)
    async def pass_on(path: str, request: Request) -> Response:
        found = route(path)
        if found is None:
            raise NotFound(f"no resource /{path}")
        principal = None
        if not found.public:
            assert found.access is not None
            principal = await gate.principal(request)
            if not allowed(found.access, request.method, gate.roles(principal)):
                raise Forbidden(f"your roles do not allow {request.method} /{path.split('/')[0]}")
        try:
            answer = await upstreams.stream(
                found.service,
                request.method,
                f"/{path}",
                params=request.query_params.multi_items(),
                headers=gate.headers(request, principal),
                content=await request_body(request),
            )
        except ClientDisconnect:  # the caller left while its body was on the way
            return Response(status_code=CLIENT_CLOSED_REQUEST)
        headers = {
            name: value
            for name in FORWARDED_RESPONSE_HEADERS
            if (value := answer.headers.get(name)) is not None
        }
        if request.method != "HEAD" and is_small(answer.headers.get("content-length")):
            try:
                return Response(await answer.aread(), answer.status_code, headers)
            finally:
                await answer.aclose()
        return StreamingResponse(
            answer.aiter_raw(),
            status_code=answer.status_code,
            headers=headers,
            background=BackgroundTask(answer.aclose),
        )

    return router


WHOLE_BODY_LIMIT = 1024 * 1024
"""Bodies up to this size (by Content-Length), the caller's and the service's, are read whole,
then sent on with their length in one write; larger or unsized ones (CSV imports and exports)
are streamed through as they arrive."""


def is_small(content_length: str | None) -> bool:
    return (
        content_length is not None
        and content_length.isdigit()
        and (int(content_length) <= WHOLE_BODY_LIMIT)
    )


async def request_body(request: Request) -> bytes | AsyncIterator[bytes] | None:
    if request.method in ("GET", "HEAD"):
        return None
    if is_small(request.headers.get("content-length")):
        return await request.body()
    return request.stream()
