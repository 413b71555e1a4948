"""Bearer tokens are checked against the issuer's published keys: signature, issuer, audience,
expiry; the tenant and the roles come from the claims."""

from __future__ import annotations

import time
from pathlib import Path

import jwt
import pytest

from crm_devstack.issuer import DevIssuer
from crm_shared.auth import Principal, TokenVerifier, Unauthenticated
from crm_shared.auth.tokens import IssuerUnavailable


def verifier(issuer: DevIssuer, audience: str = "crm-api") -> TokenVerifier:
    return TokenVerifier(issuer.url, audience)


async def test_a_token_of_the_issuer_names_the_caller_its_tenant_and_roles(
    dev_issuer: DevIssuer,
) -> None:
    token = dev_issuer.mint("sam", "acme", ["sales"])
    assert await verifier(dev_issuer).verify(token) == Principal(
        "sam", "acme", frozenset({"sales"})
    )


async def test_an_expired_token_is_refused(dev_issuer: DevIssuer) -> None:
    token = dev_issuer.mint("sam", "acme", ["sales"], lifetime_s=60, issued_at=time.time() - 600)
    with pytest.raises(Unauthenticated, match="expired"):
        await verifier(dev_issuer).verify(token)


async def test_a_token_signed_with_another_key_is_refused(
    dev_issuer: DevIssuer, tmp_path: Path
) -> None:
    impostor = DevIssuer(tmp_path, dev_issuer.url)
    forged = jwt.encode(
        jwt.decode(impostor.mint("sam", "acme", ["admin"]), options={"verify_signature": False}),
        impostor._key,
        algorithm="RS256",
        headers={"kid": dev_issuer.kid},  # and claims to use the issuer's
    )
    with pytest.raises(Unauthenticated, match="not valid"):
        await verifier(dev_issuer).verify(forged)
    with pytest.raises(Unauthenticated, match="not valid"):
        await verifier(dev_issuer).verify(impostor.mint("sam", "acme", ["admin"]))


async def test_a_token_for_another_audience_or_from_another_issuer_is_refused(
    dev_issuer: DevIssuer,
) -> None:
    with pytest.raises(Unauthenticated):
        await verifier(dev_issuer).verify(dev_issuer.mint("sam", "acme", [], audience="other"))
    other = TokenVerifier(
        "http://127.0.0.1:1/elsewhere", "crm-api", jwks_url=f"{dev_issuer.url}/jwks.json"
    )
    with pytest.raises(Unauthenticated):
        await other.verify(dev_issuer.mint("sam", "acme", []))


async def test_a_garbled_token_is_refused(dev_issuer: DevIssuer) -> None:
    with pytest.raises(Unauthenticated):
        await verifier(dev_issuer).verify("not-a-jwt")


async def test_an_unreachable_issuer_is_a_503_not_a_401() -> None:
    unreachable = TokenVerifier("http://127.0.0.1:1", "crm-api")
    with pytest.raises(IssuerUnavailable):
        await unreachable.verify("a.b.c")


async def test_a_verified_token_is_remembered_but_never_past_its_expiry(
    dev_issuer: DevIssuer,
) -> None:
    checking = TokenVerifier(dev_issuer.url, "crm-api", leeway_s=0)
    checked: list[str] = []
    verify = checking._verify

    async def counted(token: str) -> tuple[Principal, float]:
        checked.append(token)
        return await verify(token)

    checking._verify = counted  # type: ignore[method-assign]
    short = dev_issuer.mint("sam", "acme", ["sales"], lifetime_s=2)
    first = await checking.verify(short)
    assert await checking.verify(short) == first
    assert checked == [short]  # the second request cost no signature check

    time.sleep(2.5)
    with pytest.raises(Unauthenticated, match="expired"):
        await checking.verify(short)


async def test_a_refused_token_is_not_remembered(dev_issuer: DevIssuer) -> None:
    checking = verifier(dev_issuer)
    for _ in range(2):
        with pytest.raises(Unauthenticated):
            await checking.verify(dev_issuer.mint("sam", "acme", [], audience="other"))
