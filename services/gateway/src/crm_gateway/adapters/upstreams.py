"""HTTP calls to the services behind the gateway, each with a timeout and a circuit breaker."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import contextmanager

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
    """Requests go straight to each service's transport (aiohttp's connection pool under
    httpx's request and response types): httpx's client around it merged URLs, kept cookies
    and walked redirect and auth hooks on every call, two fifths of the gateway's CPU, none of
    which a gateway wants (an upstream's cookie must never reach another caller)."""

    def __init__(
        self,
        urls: Mapping[Service, str],
        timeout_s: float,
        breaker_failures: int,
        breaker_reset_s: float,
        transports: Mapping[Service, httpx.AsyncBaseTransport] | None = None,
    ) -> None:
        self._urls = {service: url.rstrip("/") for service, url in urls.items()}
        self._timeout = httpx.Timeout(timeout_s).as_dict()
        self._transports = {
            service: (transports or {}).get(service) or AiohttpTransport(client=_session)
            for service in urls
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
        answer = await self._send(
            service, self._request(service, method, path, params, headers, content)
        )
        try:
            with self._failures(service):  # the connection may break while the body comes
                await answer.aread()
        finally:
            await answer.aclose()
        return answer

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
        return await self._send(
            service, self._request(service, method, path, params, headers, content)
        )

    def _request(
        self,
        service: Service,
        method: str,
        path: str,
        params: httpx.QueryParams | None,
        headers: Mapping[str, str] | None,
        content: bytes | AsyncIterator[bytes] | None,
    ) -> httpx.Request:
        request = httpx.Request(
            method,
            httpx.URL(self._urls[service] + path, params=params),
            headers=headers,
            content=content,
            extensions={"timeout": self._timeout},
        )
        inject(request.headers)  # the service's spans join the caller's trace (W3C traceparent)
        return request

    async def _send(self, service: Service, request: httpx.Request) -> httpx.Response:
        """A 5xx, a timeout or a refused connection counts against the service's circuit."""
        breaker = self.breakers[service]
        if not breaker.allow():
            raise UpstreamUnavailable(f"the {service} service is unavailable (circuit open)")
        with self._failures(service):
            answer = await self._transports[service].handle_async_request(request)
        answer.request = request
        if answer.status_code >= 500:
            breaker.failed()
        else:
            breaker.succeeded()
        return answer

    @contextmanager
    def _failures(self, service: Service) -> Iterator[None]:
        """A timeout or a broken or refused connection: counted against the service's circuit
        and answered as ``UpstreamUnavailable``."""
        try:
            yield
        except httpx.TimeoutException as error:
            self.breakers[service].failed()
            if not isinstance(error.__cause__, aiohttp.ClientConnectorError):
                raise UpstreamUnavailable(f"the {service} service did not answer in time") from None
            # the aiohttp transport reports a refused connection as a connect timeout
            raise UpstreamUnavailable(f"the {service} service cannot be reached: {error}") from None
        except httpx.TransportError as error:
            self.breakers[service].failed()
            raise UpstreamUnavailable(f"the {service} service cannot be reached: {error}") from None

    async def close(self) -> None:
        for transport in self._transports.values():
            await transport.aclose()


def _session() -> aiohttp.ClientSession:
    """The connections to one service (made on the first call, in the running loop).

    Its cookie jar keeps nothing: aiohttp's own would keep a cookie an upstream set in answer
    to one caller and send it with every later caller's request to that host (it only spares
    hosts named by IP address, as the tests' are, not a deployment's service names). It asks
    for no compression of its own accord: answers are passed on as they come, and a compressed
    one would reach the caller without its Content-Encoding. Idle connections are dropped
    before the services' servers drop them (5 s), so that a request never goes out on a
    connection being closed."""
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=64, keepalive_timeout=4),
        cookie_jar=aiohttp.DummyCookieJar(),
        skip_auto_headers=("Accept-Encoding",),
    )
