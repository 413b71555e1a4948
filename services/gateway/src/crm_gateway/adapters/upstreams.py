"""HTTP calls to the services behind the gateway, each with a timeout and a circuit breaker."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport
from opentelemetry.propagate import inject

from crm_gateway.domain.breaker import CircuitBreaker
from crm_gateway.domain.routes import Service
from crm_shared.errors import PlatformError


class UpstreamUnavailable(PlatformError):
    """The service did not answer in time, could not be reached, or its circuit is open."""

    status_code = 503
    code = "service_unavailable"


class Upstreams:
    def __init__(
        self,
        urls: Mapping[Service, str],
        timeout_s: float,
        breaker_failures: int,
        breaker_reset_s: float,
        transports: Mapping[Service, httpx.AsyncBaseTransport] | None = None,
    ) -> None:
        # Idle connections are dropped before the services' servers drop them (5 s), so that a
        # request never goes out on a connection being closed.
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=32, keepalive_expiry=4)
        self._clients = {
            service: httpx.AsyncClient(
                base_url=url,
                timeout=httpx.Timeout(timeout_s),
                # aiohttp's connection pool under httpx's API: httpcore's pool looked at every
                # pooled connection on every request, most of the gateway's time under load
                transport=(transports or {}).get(service) or AiohttpTransport(limits=limits),
            )
            for service, url in urls.items()
        }
        self.breakers = {
            service: CircuitBreaker(breaker_failures, breaker_reset_s, time.monotonic)
            for service in urls
        }

    async def call(
        self,
        service: Service,
        method: str,
        path: str,
        *,
        params: httpx.QueryParams | None = None,
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        """The service's answer, whatever its status, read whole."""
        client = self._clients[service]
        request = client.build_request(
            method, path, params=params, headers=headers, content=content
        )
        return await self._send(service, request, stream=False)

    async def stream(
        self,
        service: Service,
        method: str,
        path: str,
        *,
        params: httpx.QueryParams,
        headers: Mapping[str, str],
        content: bytes | AsyncIterator[bytes] | None,
    ) -> httpx.Response:
        """Like ``call``, with the request body streamed up and the answer's body left to be
        streamed down (``aiter_raw``; ``aclose`` when done): imports and exports are large."""
        client = self._clients[service]
        request = client.build_request(
            method, path, params=params, headers=headers, content=content
        )
        return await self._send(service, request, stream=True)

    async def _send(self, service: Service, request: httpx.Request, stream: bool) -> httpx.Response:
        """A 5xx, a timeout or a refused connection counts against the service's circuit."""
        breaker = self.breakers[service]
        if not breaker.allow():
            raise UpstreamUnavailable(f"the {service} service is unavailable (circuit open)")
        inject(request.headers)  # the service's spans join the caller's trace (W3C traceparent)
        try:
            answer = await self._clients[service].send(request, stream=stream)
        except httpx.TimeoutException as error:
            breaker.failed()
            if not isinstance(error.__cause__, aiohttp.ClientConnectorError):
                raise UpstreamUnavailable(f"the {service} service did not answer in time") from None
            # the aiohttp transport reports a refused connection as a connect timeout
            raise UpstreamUnavailable(f"the {service} service cannot be reached: {error}") from None
        except httpx.TransportError as error:
            breaker.failed()
            raise UpstreamUnavailable(f"the {service} service cannot be reached: {error}") from None
        if answer.status_code >= 500:
            breaker.failed()
        else:
            breaker.succeeded()
        return answer

    async def close(self) -> None:
        for client in self._clients.values():
            await client.aclose()
