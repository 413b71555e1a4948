"""What every service's API reads from a request: the caller and the version it expects.

The tenant, the acting user and their roles come from the bearer token, checked against the
configured issuer (``CRM_AUTH_ISSUER``); without one (development and tests) from the
``X-Tenant-Id`` and ``X-Actor-Id`` headers.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.types import Scope

from crm_shared.auth.access import access_of, allowed
from crm_shared.auth.principal import DEPARTMENT_ROLES, Forbidden
from crm_shared.caller import Caller
from crm_shared.errors import ConcurrencyConflict, PlatformError
from crm_shared.http.authentication import principal_of
from crm_shared.http.openapi import amend_openapi
from crm_shared.http.problems import validation_problem_answer

__all__ = [
    "Caller",
    "Expected",
    "MaybeExpected",
    "PreconditionFailed",
    "PreconditionRequired",
    "Who",
]


class PreconditionRequired(PlatformError):
    status_code = 428
    code = "precondition_required"


class MissingCaller(PlatformError):
    status_code = 422
    code = "validation_failed"


class PreconditionFailed(PlatformError):
    status_code = 412
    code = "precondition_failed"


CALLER_HEADERS: tuple[tuple[str, str], ...] = (
    ("authorization", "Bearer token from the configured issuer"),
    ("x-tenant-id", "Tenant acted for: a service account's, or any caller's in development"),
    ("x-actor-id", "User acting (development only, without tokens)"),
    ("x-correlation-id", "Ties the events this request causes to it (a new id if absent)"),
)
"""The headers ``caller`` reads, as the OpenAPI documents name them."""
_READ_BY_CALLER = frozenset(name.encode() for name, _ in CALLER_HEADERS)


async def caller(request: Request) -> Caller:
    """The caller as the token says (tenant, user, roles). A service account's token (role
    ``service``) acts for the tenant it names in ``X-Tenant-Id``. Without a configured issuer
    (development), the headers are trusted.

    It reads the headers itself rather than as four ``Header`` parameters, which FastAPI
    validated one by one on every request (40 us of a 260 us request); ``document_headers``
    puts them in the OpenAPI document."""
    headers = first_headers(request.scope, _READ_BY_CALLER)
    x_tenant_id, x_actor_id = headers.get(b"x-tenant-id"), headers.get(b"x-actor-id")
    correlation = headers.get(b"x-correlation-id") or str(uuid.uuid4())
    principal = await principal_of(request, headers.get(b"authorization"))
    if principal is None:
        if not x_tenant_id or not x_actor_id:
            missing = [
                {"field": name, "location": "header", "reason": "required without a token"}
                for name, value in (("x-tenant-id", x_tenant_id), ("x-actor-id", x_actor_id))
                if not value
            ]
            raise MissingCaller("name the tenant and the actor", fields=missing)
        return Caller(x_tenant_id, x_actor_id, correlation, frozenset(DEPARTMENT_ROLES))
    tenant, actor = principal.tenant_id, principal.subject
    if principal.is_service:  # a service acts for a tenant and a person it names
        tenant, actor = x_tenant_id or tenant, x_actor_id or actor
    if not tenant:
        raise Forbidden("the token names no tenant")
    path = request.scope["path"]  # what the router matched; ``request.url`` parses a URL
    access = access_of(path)
    if access and not principal.is_service and not allowed(access, request.method, principal.roles):
        raise Forbidden(f"your roles do not allow {request.method} {path}")
    return Caller(tenant, actor, correlation, principal.roles)


def first_headers(scope: Scope, names: frozenset[bytes]) -> dict[bytes, str]:
    """The request's headers of these (lower-case) names, found in one pass: the first of each,
    as ``request.headers.get`` finds it (ASGI servers give the names in lower case). A ``get``
    per name scanned them all each time, lower-casing the name as it went."""
    found: dict[bytes, str] = {}
    for name, value in scope["headers"]:
        if name in names and name not in found:
            found[name] = value.decode("latin-1")
    return found


def document_headers(app: FastAPI) -> None:
    """The app's OpenAPI document lists the headers ``caller`` and the ``If-Match`` readers
    read on every operation that depends on them, as it would if they declared them as
    ``Header`` parameters."""
    amend_openapi(app, lambda document: _list_headers_read(app, document))


def _list_headers_read(app: FastAPI, document: dict[str, Any]) -> None:
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute):
            continue
        readers = _calls(route.original_route.dependant)
        parameters = [
            _header_parameter(name, description)
            for reader, headers in HEADERS_READ.items()
            if reader in readers
            for name, description in headers
        ]
        if not parameters:
            continue
        operations = document["paths"].get(route.path_format, {})
        for method in route.methods or ():
            operation = operations.get(method.lower())
            if operation is None:
                continue
            operation.setdefault("parameters", []).extend(parameters)
            if caller in readers:  # a development caller naming no tenant: a 422
                operation.setdefault("responses", {}).setdefault("422", validation_problem_answer())


def _calls(dependant: Dependant) -> set[Any]:
    calls = {dependant.call}
    for dependency in dependant.dependencies:
        calls |= _calls(dependency)
    return calls


def _header_parameter(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "header",
        "required": False,
        "description": description,
        "schema": {"type": "string"},
    }


async def expected_version(request: Request) -> int:
    """The version the client read, from ``If-Match: "<version>"``."""
    if_match = request.headers.get("if-match")
    if if_match is None:
        raise PreconditionRequired("send If-Match with the ETag you read")
    return _version_in(if_match)


async def optional_expected_version(request: Request) -> int | None:
    """``If-Match`` when the client sent one (creating needs none, changing does)."""
    if_match = request.headers.get("if-match")
    return None if if_match is None else _version_in(if_match)


def _version_in(if_match: str) -> int:
    try:
        return int(if_match.strip().removeprefix("W/").strip('"'))
    except ValueError:
        raise PreconditionFailed(f"If-Match {if_match!r} is not an ETag of this API") from None


@contextmanager
def stale_as_412() -> Iterator[None]:
    """A write that expected a version the stream no longer has answers 412 (with both
    versions), as HTTP says of a stale ``If-Match``."""
    try:
        yield
    except ConcurrencyConflict as conflict:
        raise PreconditionFailed(
            conflict.detail,
            expected_version=conflict.expected_version,
            actual_version=conflict.actual_version,
        ) from None


IF_MATCH = (("if-match", "The ETag of the version the change was made on"),)

HEADERS_READ: dict[Any, tuple[tuple[str, str], ...]] = {
    caller: CALLER_HEADERS,
    expected_version: IF_MATCH,
    optional_expected_version: IF_MATCH,
}
"""The headers each dependency reads itself (FastAPI validated ``Header`` parameters one by
one on every request), for ``document_headers``."""


def etag(version: int) -> str:
    return f'"{version}"'


Who = Annotated[Caller, Depends(caller)]
Expected = Annotated[int, Depends(expected_version)]
MaybeExpected = Annotated[int | None, Depends(optional_expected_version)]
