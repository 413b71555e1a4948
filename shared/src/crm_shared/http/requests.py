"""What every service's API reads from a request: the caller and the version it expects.

The tenant, the acting user and their roles come from the bearer token, checked against the
configured issuer (``CRM_AUTH_ISSUER``); without one (development and tests) from the
``X-Tenant-Id`` and ``X-Actor-Id`` headers.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, Header, Request

from crm_shared.auth.access import access_of, allowed
from crm_shared.auth.principal import DEPARTMENT_ROLES, Forbidden
from crm_shared.caller import Caller
from crm_shared.errors import ConcurrencyConflict, PlatformError
from crm_shared.http.authentication import principal_of

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


async def caller(
    request: Request,
    authorization: Annotated[
        str | None, Header(description="Bearer token from the configured issuer")
    ] = None,
    x_tenant_id: Annotated[
        str | None,
        Header(description="Tenant acted for: a service account's, or any caller's in development"),
    ] = None,
    x_actor_id: Annotated[
        str | None, Header(description="User acting (development only, without tokens)")
    ] = None,
    x_correlation_id: Annotated[str | None, Header()] = None,
) -> Caller:
    """The caller as the token says (tenant, user, roles). A service account's token (role
    ``service``) acts for the tenant it names in ``X-Tenant-Id``. Without a configured issuer
    (development), the headers are trusted."""
    correlation = x_correlation_id or str(uuid.uuid4())
    principal = await principal_of(request, authorization)
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
    access = access_of(request.url.path)
    if access and not principal.is_service and not allowed(access, request.method, principal.roles):
        raise Forbidden(f"your roles do not allow {request.method} {request.url.path}")
    return Caller(tenant, actor, correlation, principal.roles)


async def expected_version(if_match: Annotated[str | None, Header()] = None) -> int:
    """The version the client read, from ``If-Match: "<version>"``."""
    if if_match is None:
        raise PreconditionRequired("send If-Match with the ETag you read")
    return _version_in(if_match)


async def optional_expected_version(
    if_match: Annotated[str | None, Header()] = None,
) -> int | None:
    """``If-Match`` when the client sent one (creating needs none, changing does)."""
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


def etag(version: int) -> str:
    return f'"{version}"'


Who = Annotated[Caller, Depends(caller)]
Expected = Annotated[int, Depends(expected_version)]
MaybeExpected = Annotated[int | None, Depends(optional_expected_version)]
