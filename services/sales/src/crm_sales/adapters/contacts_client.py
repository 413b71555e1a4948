"""The contacts service over HTTP, as the lead conversion saga needs it.

Answers are sorted in two: ones worth trying again later (no connection, a timeout, 5xx, 429,
a concurrent change) raise ``ContactsUnavailable``; refusals for good (other 4xx) raise
``ContactsRefused`` with the service's own explanation.
"""

from __future__ import annotations

from typing import Any

import httpx

from crm_sales.application.conversion import ContactsRefused, ContactsUnavailable
from crm_shared.caller import Caller

RETRYABLE = {408, 409, 412, 425, 429}


class HttpContactsClient:
    def __init__(
        self,
        base_url: str,
        client: httpx.AsyncClient | None = None,
        auth: httpx.Auth | None = None,
    ) -> None:
        """``auth``: the sales service's own token (a service account acting for the tenant
        and the person it names), when the contacts service checks tokens."""
        self.http = client or httpx.AsyncClient(
            base_url=base_url, timeout=httpx.Timeout(10.0, connect=3.0), auth=auth
        )

    async def close(self) -> None:
        await self.http.aclose()

    async def create_account(
        self, caller: Caller, idempotency_key: str, account: dict[str, Any]
    ) -> str:
        return await self._create("/accounts", caller, idempotency_key, account)

    async def create_contact(
        self, caller: Caller, idempotency_key: str, contact: dict[str, Any]
    ) -> str:
        return await self._create("/contacts", caller, idempotency_key, contact)

    async def archive_account(self, caller: Caller, account_id: str, reason: str) -> None:
        await self._archive(f"/accounts/{account_id}", caller, reason)

    async def archive_contact(self, caller: Caller, contact_id: str, reason: str) -> None:
        await self._archive(f"/contacts/{contact_id}", caller, reason)

    async def _create(
        self, path: str, caller: Caller, idempotency_key: str, body: dict[str, Any]
    ) -> str:
        headers = {**_headers(caller), "Idempotency-Key": idempotency_key}
        response = await self._send("POST", path, headers, body)
        return str(response.json()["id"])

    async def _archive(self, path: str, caller: Caller, reason: str) -> None:
        """Archive unless already archived or gone; a concurrent change is tried again."""
        for _ in range(3):
            try:
                current = await self._send("GET", path, _headers(caller))
            except ContactsRefused:
                return  # nothing there to undo
            if current.json().get("archived"):
                return
            headers = {**_headers(caller), "If-Match": current.headers["ETag"]}
            try:
                await self._send("POST", f"{path}/archive", headers, {"reason": reason[:500]})
                return
            except ContactsUnavailable as error:
                if "412" not in str(error):
                    raise
        raise ContactsUnavailable(f"{path} kept changing while it was being archived")

    async def _send(
        self, method: str, path: str, headers: dict[str, str], body: Any = None
    ) -> httpx.Response:
        try:
            response = await self.http.request(method, path, headers=headers, json=body)
        except httpx.HTTPError as error:
            raise ContactsUnavailable(f"{method} {path}: {type(error).__name__} {error}") from None
        if response.is_success:
            return response
        explanation = f"{method} {path}: {response.status_code} {_detail(response)}"
        if response.status_code >= 500 or response.status_code in RETRYABLE:
            raise ContactsUnavailable(explanation)
        raise ContactsRefused(explanation)


def _headers(caller: Caller) -> dict[str, str]:
    return {
        "X-Tenant-Id": caller.tenant_id,
        "X-Actor-Id": caller.actor,
        "X-Correlation-Id": caller.correlation_id,
    }


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500]
    if isinstance(body, dict):
        return str(body.get("detail") or body)[:500]
    return str(body)[:500]
