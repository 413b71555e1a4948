"""Checks bearer tokens (JWT) against an OIDC issuer: signature with the issuer's published
keys (JWKS, found through its discovery document and cached), issuer, audience, expiry."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Sequence
from typing import Any

import jwt

from crm_shared.auth.principal import Principal, Unauthenticated
from crm_shared.errors import PlatformError

ALGORITHMS = ("RS256", "ES256", "PS256")


class IssuerUnavailable(PlatformError):
    status_code = 503
    code = "issuer_unavailable"


class TokenVerifier:
    def __init__(
        self,
        issuer: str,
        audience: str,
        jwks_url: str | None = None,
        tenant_claim: str = "tenant_id",
        roles_claim: str = "roles",
        leeway_s: float = 30,
        algorithms: Sequence[str] = ALGORITHMS,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.audience = audience
        self.tenant_claim = tenant_claim
        self.roles_claim = roles_claim
        self.leeway_s = leeway_s
        self.algorithms = list(algorithms)
        self._jwks_url = jwks_url
        self._keys: jwt.PyJWKClient | None = None

    async def verify(self, token: str) -> Principal:
        try:
            keys = await self._key_client()
            key = await asyncio.to_thread(keys.get_signing_key_from_jwt, token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=self.algorithms,
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_s,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the token has expired") from None
        except jwt.PyJWKClientConnectionError as error:
            raise IssuerUnavailable(f"the issuer's keys cannot be fetched: {error}") from None
        except (jwt.PyJWKClientError, jwt.InvalidTokenError) as error:
            raise Unauthenticated(f"the token is not valid: {error}") from None
        roles = claims.get(self.roles_claim) or []
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise Unauthenticated(f"the token's {self.roles_claim} claim is not a list of roles")
        tenant = claims.get(self.tenant_claim)
        if tenant is not None and not isinstance(tenant, str):
            raise Unauthenticated(f"the token's {self.tenant_claim} claim is not a tenant id")
        return Principal(str(claims["sub"]), tenant, frozenset(roles))

    async def _key_client(self) -> jwt.PyJWKClient:
        if self._keys is None:
            url = self._jwks_url
            if url is None:
                url = await asyncio.to_thread(self._discover_jwks_url)
            self._keys = jwt.PyJWKClient(url, cache_keys=True, lifespan=300, timeout=5)
        return self._keys

    def _discover_jwks_url(self) -> str:
        discovery = f"{self.issuer}/.well-known/openid-configuration"
        try:
            with urllib.request.urlopen(discovery, timeout=5) as answer:
                document = json.load(answer)
        except OSError as error:
            raise jwt.PyJWKClientConnectionError(f"{discovery}: {error}") from error
        return str(document["jwks_uri"])
