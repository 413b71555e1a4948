"""A service's own token for calling another service: the OAuth2 client credentials grant at
the issuer's token endpoint, kept until shortly before it expires (an ``httpx.Auth``)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator

import httpx

from crm_shared.auth.principal import Unauthenticated


class ClientCredentials(httpx.Auth):
    def __init__(
        self,
        issuer: str,
        client_id: str,
        client_secret: str,
        token_url: str | None = None,
        renew_before_s: float = 30,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_url = token_url
        self.renew_before_s = renew_before_s
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    async def async_auth_flow(
        self, request: httpx.Request
    ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        request.headers["Authorization"] = f"Bearer {await self.token()}"
        response = yield request
        if response.status_code == 401:  # the issuer rotated its keys, say: once more, anew
            self._token = None
            request.headers["Authorization"] = f"Bearer {await self.token()}"
            yield request

    async def token(self) -> str:
        async with self._lock:
            if self._token is None or time.monotonic() >= self._expires_at:
                await self._fetch()
            assert self._token is not None
            return self._token

    async def _fetch(self) -> None:
        async with httpx.AsyncClient(timeout=httpx.Timeout(5.0)) as http:
            if self.token_url is None:
                discovery = await http.get(f"{self.issuer}/.well-known/openid-configuration")
                discovery.raise_for_status()
                self.token_url = str(discovery.json()["token_endpoint"])
            answer = await http.post(
                self.token_url,
                data={
                    "grant_type": "client_credentials",
                    "client_id": self.client_id,
                    "client_secret": self.client_secret,
                },
            )
        if answer.status_code != 200:
            raise Unauthenticated(f"the issuer refused the client {self.client_id}: {answer.text}")
        body = answer.json()
        self._token = str(body["access_token"])
        lifetime = float(body.get("expires_in", 300))
        self._expires_at = time.monotonic() + max(lifetime - self.renew_before_s, 1.0)
