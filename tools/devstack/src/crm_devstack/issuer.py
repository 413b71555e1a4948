"""A small OAuth2/OIDC issuer for local use, so that tokens work out of the box.

It signs RS256 JWTs with a key it makes on first start (kept in its state directory), serves
the discovery document and the JWKS the services verify with, and answers the client
credentials grant for the clients in ``clients.json`` beside the key: a few people per tenant,
one per department role, and the services' own accounts (role ``service``). Any real issuer
(Keycloak, Entra ID, Auth0...) takes its place by setting ``CRM_AUTH_ISSUER``.

    python -m crm_devstack.issuer --state .local/stack/issuer --port 8180
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import secrets
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import jwt
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from crm_devstack.processes import DetachedServer, free_port, spawn_detached, wait_until

AUDIENCE = "crm-api"
TOKEN_LIFETIME_S = 3600

PEOPLE = {
    "acme": {
        "ada": ["admin"],
        "sam": ["sales"],
        "sue": ["support"],
        "ann": ["analyst"],
        "mia": ["marketing"],
    },
    "globex": {"gus": ["admin"], "gil": ["sales"]},
}
SERVICE_ACCOUNTS = ("crm-gateway", "crm-sales", "crm-support")


class DevIssuer:
    def __init__(self, state_dir: Path, url: str) -> None:
        self.url = url.rstrip("/")
        state_dir.mkdir(parents=True, exist_ok=True)
        self._key = _load_or_make_key(state_dir / "signing-key.pem")
        self.clients = _load_or_make_clients(state_dir / "clients.json")
        public = self._key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.kid = hashlib.sha256(public).hexdigest()[:16]

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.url,
            "jwks_uri": f"{self.url}/jwks.json",
            "token_endpoint": f"{self.url}/token",
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "id_token_signing_alg_values_supported": ["RS256"],
        }

    def jwks(self) -> dict[str, Any]:
        numbers = self._key.public_key().public_numbers()
        return {
            "keys": [
                {
                    "kty": "RSA",
                    "use": "sig",
                    "alg": "RS256",
                    "kid": self.kid,
                    "n": _b64(numbers.n),
                    "e": _b64(numbers.e),
                }
            ]
        }

    def mint(
        self,
        subject: str,
        tenant_id: str | None,
        roles: list[str],
        lifetime_s: int = TOKEN_LIFETIME_S,
        audience: str = AUDIENCE,
        issued_at: float | None = None,
    ) -> str:
        now = int(issued_at if issued_at is not None else time.time())
        claims: dict[str, Any] = {
            "iss": self.url,
            "aud": audience,
            "sub": subject,
            "iat": now,
            "nbf": now,
            "exp": now + lifetime_s,
            "jti": str(uuid.uuid4()),
            "roles": roles,
        }
        if tenant_id is not None:
            claims["tenant_id"] = tenant_id
        return jwt.encode(claims, self._key, algorithm="RS256", headers={"kid": self.kid})

    def token_for(self, client_id: str) -> str:
        client = self.clients[client_id]
        return self.mint(client_id, client.get("tenant_id"), list(client["roles"]))

    def app(self) -> Starlette:
        async def discovery(_: Request) -> JSONResponse:
            return JSONResponse(self.discovery())

        async def keys(_: Request) -> JSONResponse:
            return JSONResponse(self.jwks())

        async def token(request: Request) -> JSONResponse:
            form = await request.form()
            client_id, secret = str(form.get("client_id", "")), str(form.get("client_secret", ""))
            basic = request.headers.get("authorization", "")
            if basic.lower().startswith("basic "):
                decoded = base64.b64decode(basic[6:]).decode()
                client_id, _, secret = decoded.partition(":")
            if form.get("grant_type") != "client_credentials":
                return JSONResponse({"error": "unsupported_grant_type"}, status_code=400)
            client = self.clients.get(client_id)
            if client is None or not secrets.compare_digest(client["secret"], secret):
                return JSONResponse({"error": "invalid_client"}, status_code=401)
            return JSONResponse(
                {
                    "access_token": self.token_for(client_id),
                    "token_type": "Bearer",
                    "expires_in": TOKEN_LIFETIME_S,
                }
            )

        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", discovery),
                Route("/jwks.json", keys),
                Route("/token", token, methods=["POST"]),
            ]
        )


def _b64(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _load_or_make_key(path: Path) -> rsa.RSAPrivateKey:
    if path.exists():
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        assert isinstance(loaded, rsa.RSAPrivateKey)
        return loaded
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)
    return key


def _load_or_make_clients(path: Path) -> dict[str, dict[str, Any]]:
    if path.exists():
        loaded: dict[str, dict[str, Any]] = json.loads(path.read_text())
        return loaded
    clients: dict[str, dict[str, Any]] = {}
    for tenant, people in PEOPLE.items():
        for person, roles in people.items():
            clients[f"{person}@{tenant}"] = {
                "secret": secrets.token_urlsafe(24),
                "tenant_id": tenant,
                "roles": roles,
            }
    for account in SERVICE_ACCOUNTS:
        clients[account] = {"secret": secrets.token_urlsafe(24), "roles": ["service"]}
    path.write_text(json.dumps(clients, indent=2) + "\n")
    path.chmod(0o600)
    return clients


class IssuerProcess(DetachedServer):
    """The dev issuer as a detached process of the local stack."""

    def __init__(self, state_dir: Path) -> None:
        super().__init__(state_dir)
        self.port = int(self.state.load().get("port") or free_port())
        self.log_file = state_dir / "issuer.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> None:
        if self.is_running():
            return
        command = [
            sys.executable,
            "-m",
            "crm_devstack.issuer",
            "--state",
            str(self.state_dir),
            "--port",
            str(self.port),
        ]
        pid = spawn_detached(command, self.log_file)
        self.state.save(pid=pid, port=self.port)
        wait_until(self._healthy, timeout, f"the issuer answering on {self.url}", self.log_file)

    def issuer(self) -> DevIssuer:
        return DevIssuer(self.state_dir, self.url)

    def _healthy(self) -> bool:
        try:
            discovery = f"{self.url}/.well-known/openid-configuration"
            with urllib.request.urlopen(discovery, timeout=1) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False


def main() -> None:
    parser = argparse.ArgumentParser(description="a local OIDC issuer for the dev stack")
    parser.add_argument("--state", type=Path, required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    issuer = DevIssuer(args.state, f"http://{args.host}:{args.port}")
    uvicorn.run(issuer.app(), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
