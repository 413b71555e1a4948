"""A service's own token, from the issuer's token endpoint (the real local issuer): sent with
every call, kept while valid, fetched anew when the callee refuses it, refused for a wrong
secret."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from crm_devstack.issuer import DevIssuer
from crm_shared.auth import TokenVerifier, Unauthenticated
from crm_shared.auth.client_credentials import ClientCredentials


def callee(refuse_first: int = 0) -> tuple[Starlette, list[str]]:
    """A service that records the bearer tokens it receives (refusing the first ones)."""
    seen: list[str] = []

    async def answer(request: Request) -> JSONResponse:
        seen.append(request.headers.get("authorization", "").removeprefix("Bearer "))
        return JSONResponse({}, status_code=401 if len(seen) <= refuse_first else 200)

    return Starlette(routes=[Route("/contacts", answer)]), seen


def account(issuer: DevIssuer, secret: str | None = None) -> ClientCredentials:
    return ClientCredentials(
        issuer.url, "crm-sales", secret or issuer.clients["crm-sales"]["secret"]
    )


async def test_calls_carry_a_service_token_of_the_issuer_kept_while_valid(
    dev_issuer: DevIssuer,
) -> None:
    app, seen = callee()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://contacts", auth=account(dev_issuer)
    ) as http:
        assert (await http.get("/contacts")).status_code == 200
        assert (await http.get("/contacts")).status_code == 200
    assert seen[0] == seen[1]  # one token for both calls
    principal = await TokenVerifier(dev_issuer.url, "crm-api").verify(seen[0])
    assert (principal.subject, principal.is_service) == ("crm-sales", True)


async def test_a_refused_token_is_replaced_once(dev_issuer: DevIssuer) -> None:
    app, seen = callee(refuse_first=1)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://contacts", auth=account(dev_issuer)
    ) as http:
        assert (await http.get("/contacts")).status_code == 200
    assert len(seen) == 2
    assert seen[0] != seen[1]


async def test_a_wrong_secret_is_refused_by_the_issuer(dev_issuer: DevIssuer) -> None:
    app, seen = callee()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://contacts",
        auth=account(dev_issuer, secret="not-the-secret"),
    ) as http:
        with pytest.raises(Unauthenticated, match="crm-sales"):
            await http.get("/contacts")
    assert seen == []
