"""Checks bearer tokens (JWT) against an OIDC issuer: signature with the issuer's published
keys (JWKS, found through its discovery document and cached), issuer, audience, expiry.

A token once verified is remembered (by its exact text) until it expires, for at most
``VERIFIED_FOR_S``: a caller sends the same token with every request, and each request is
checked twice (the gateway, then the service). The price is that a signing key the issuer
withdraws is still honoured for that long for tokens already seen."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.request
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import jwt

from crm_shared.auth.principal import Principal, Unauthenticated
from crm_shared.errors import PlatformError

ALGORITHMS = ("RS256", "ES256", "PS256")
VERIFIED_FOR_S = 60.0
"""Longest a verified token is taken on trust without checking its signature again."""
REMEMBERED_TOKENS = 10_000
KEYS_FOR_S = 300.0
"""How long a signing key from the issuer's JWKS is used before it is fetched again."""


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
        self._signing_keys: dict[str, tuple[Any, float]] = {}
        """kid -> (key, when fetched): the thread hop to PyJWKClient only on a miss."""
        self._verified: OrderedDict[str, tuple[Principal, float]] = OrderedDict()
        """token -> (its principal, until when it is taken on trust)"""

    async def verify(self, token: str) -> Principal:
        now = time.time()
        remembered = self._verified.get(token)
        if remembered is not None:
            if remembered[1] > now:
                self._verified.move_to_end(token)
                return remembered[0]
            del self._verified[token]
        principal, expires_at = await self._verify(token)
        self._verified[token] = (principal, min(expires_at + self.leeway_s, now + VERIFIED_FOR_S))
        if len(self._verified) > REMEMBERED_TOKENS:
            self._verified.popitem(last=False)
        return principal

    async def _signing_key(self, token: str) -> Any:
        keys = await self._key_client()
        kid = jwt.get_unverified_header(token).get("kid")
        known = self._signing_keys.get(kid) if isinstance(kid, str) else None
        if known is not None and time.monotonic() - known[1] < KEYS_FOR_S:
            return known[0]
        key = (await asyncio.to_thread(keys.get_signing_key_from_jwt, token)).key
        if isinstance(kid, str):  # only keys the issuer publishes get here
            self._signing_keys[kid] = (key, time.monotonic())
        return key

    async def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            key = await self._signing_key(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
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
        return Principal(str(claims["sub"]), tenant, frozenset(roles)), float(claims["exp"])

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
