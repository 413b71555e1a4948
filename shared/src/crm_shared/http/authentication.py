"""Who calls an API: the principal of a verified bearer token (when an issuer is configured),
or the development headers (when none is)."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request

from crm_shared.auth import TokenVerifier
from crm_shared.auth.principal import Forbidden, Principal, Unauthenticated
from crm_shared.settings import PlatformSettings

log = logging.getLogger(__name__)


def token_verifier(platform: PlatformSettings) -> TokenVerifier | None:
    if platform.auth_issuer is None:
        return None
    return TokenVerifier(
        platform.auth_issuer,
        platform.auth_audience,
        platform.auth_jwks_url,
        platform.auth_tenant_claim,
        platform.auth_roles_claim,
    )


def install_authentication(app: FastAPI, verifier: TokenVerifier | None) -> None:
    app.state.token_verifier = verifier
    if verifier is None:
        log.warning(
            "no CRM_AUTH_ISSUER: requests are trusted to name their tenant and actor in"
            " headers (development only)"
        )


async def principal_of(request: Request, authorization: str | None) -> Principal | None:
    """The token's principal; None when the app checks no tokens (development). A person's
    token must name a tenant; a service account names one per request."""
    verifier: TokenVerifier | None = getattr(request.app.state, "token_verifier", None)
    if verifier is None:
        return None
    if authorization is None:
        raise Unauthenticated("send Authorization: Bearer <token>")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("the Authorization header must be: Bearer <token>")
    principal = await verifier.verify(token.strip())
    if principal.tenant_id is None and not principal.is_service:
        raise Forbidden("the token names no tenant")
    return principal
