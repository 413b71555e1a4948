"""HTTP calls to the services behind the gateway, each with a timeout and a circuit breaker."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from opentelemetry.propagate import inject
from pydantic_core import from_json
from pyreqwest.client import Client, ClientBuilder
from pyreqwest.exceptions import RequestError
from pyreqwest.request import RequestBuilder
from pyreqwest.response import Response

from crm_gateway.domain.breaker import CircuitBreaker
from crm_gateway.domain.routes import Service
from crm_shared.errors import PlatformError

IDLE_CONNECTION_S = 4.0
"""How long an idle connection to a service is kept: less than the services' servers keep
theirs (5 s), so that a request never goes out on a connection being closed."""
CONNECTIONS_PER_SERVICE = 64


class UpstreamUnavailable(PlatformError):
    """The service did not answer in time, could not be reached, or its circuit is open."""

    status_code = 503
    code = "service_unavailable"


@dataclass(frozen=True)
class Answer:
    """A service's answer, read whole."""

    status_code: int
    headers: Mapping[str, str]
    """Case-insensitive; the first value of a repeated header."""
    content: bytes

    def json(self) -> Any:
        return from_json(self.content)


class StreamedAnswer:
    """A service's answer whose body is still to come: ``aiter_raw`` or ``aread`` it, then
    ``aclose``."""

    def __init__(
        self, upstreams: Upstreams, service: Service, response: Response, opened: AsyncExitStack
    ) -> None:
        self._upstreams, self._service, self._response = upstreams, service, response
        self._opened = opened
        self.status_code = response.status
        self.headers: Mapping[str, str] = response.headers

    async def aread(self) -> bytes:
        with self._upstreams.failures(self._service):  # the connection may break meanwhile
            return bytes(await self._response.bytes())

    async def aiter_raw(self) -> AsyncIterator[bytes]:
        reader = self._response.body_reader
        while True:
            with self._upstreams.failures(self._service):
                chunk = await reader.read_chunk()
            if chunk is None:
                return
            yield bytes(chunk)

    async def aclose(self) -> None:
        await self._opened.aclose()


class Upstreams:
    """Requests go out on one pyreqwest client per service (Rust's reqwest: its connection
    pool and HTTP/1.1 run off the event loop), which cost 45 us of CPU a call where aiohttp
    cost 73 us: the gateway makes two for every 360 view.

    The clients keep no cookie (one an upstream set in answer to one caller would go out with
    every later caller's request), follow no redirect (it is the caller's to follow), and ask
    for no compression and decode none: answers are passed on as they come. A timeout bounds
    the connection and each read, not the whole answer: a streamed export may take minutes, as
    long as it keeps coming."""

    def __init__(
        self,
        urls: Mapping[Service, str],
        timeout_s: float,
        breaker_failures: int,
        breaker_reset_s: float,
    ) -> None:
        self._urls = {service: url.rstrip("/") for service, url in urls.items()}
        self._timeout = timedelta(seconds=timeout_s)
        self._clients: dict[Service, Client] = {}
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
        params: Sequence[tuple[str, str]] = (),
        headers: Mapping[str, str] | None = None,
        content: bytes | None = None,
    ) -> Answer:
        """The service's answer, whatever its status, read whole."""
        request = self._request(service, method, path, params, headers, content).build()
        with self.failures(service):
            response = await request.send()
        self._count(service, response.status)
        with self.failures(service):  # the body comes after the status
            body = bytes(await response.bytes())
        return Answer(response.status, response.headers, body)

    async def stream(
        self,
        service: Service,
        method: str,
        path: str,
        *,
        params: Sequence[tuple[str, str]] = (),
        headers: Mapping[str, str],
        content: bytes | AsyncIterator[bytes] | None = None,
    ) -> StreamedAnswer:
        """Like ``call``, with the request body streamed up and the answer's body left to be
        streamed down: imports and exports are large."""
        request = self._request(service, method, path, params, headers, content).build_streamed()
        opened = AsyncExitStack()
        with self.failures(service):
            response = await opened.enter_async_context(request)
        self._count(service, response.status)
        return StreamedAnswer(self, service, response, opened)

    def _request(
        self,
        service: Service,
        method: str,
        path: str,
        params: Sequence[tuple[str, str]],
        headers: Mapping[str, str] | None,
        content: bytes | AsyncIterator[bytes] | None,
    ) -> RequestBuilder:
        if not self.breakers[service].allow():
            raise UpstreamUnavailable(f"the {service} service is unavailable (circuit open)")
        sent = dict(headers or {})
        inject(sent)  # the service's spans join the caller's trace (W3C traceparent)
        request = self._client(service).request(method, self._urls[service] + path)
        request = request.headers(sent)
        if params:
            request = request.query(list(params))
        if isinstance(content, bytes):
            request = request.body_bytes(content)
        elif content is not None:
            request = request.body_stream(content)
        return request

    def _count(self, service: Service, status: int) -> None:
        """A 5xx counts against the service's circuit, any other answer for it."""
        if status >= 500:
            self.breakers[service].failed()
        else:
            self.breakers[service].succeeded()

    def _client(self, service: Service) -> Client:
        """The connections to one service (made on the first call, in the running loop)."""
        client = self._clients.get(service)
        if client is None:
            client = self._clients[service] = (
                ClientBuilder()
                .connect_timeout(self._timeout)
                .read_timeout(self._timeout)
                .pool_timeout(self._timeout)
                .pool_idle_timeout(timedelta(seconds=IDLE_CONNECTION_S))
                .max_connections(CONNECTIONS_PER_SERVICE)
                .follow_redirects(False)
                .gzip(False)
                .brotli(False)
                .zstd(False)
                .deflate(False)
                .user_agent("crm-gateway")
                .build()
            )
        return client

    @contextmanager
    def failures(self, service: Service) -> Iterator[None]:
        """A timeout or a broken or refused connection: counted against the service's circuit
        and answered as ``UpstreamUnavailable``."""
        try:
            yield
        except TimeoutError:
            self.breakers[service].failed()
            raise UpstreamUnavailable(f"the {service} service did not answer in time") from None
        except RequestError as error:
            self.breakers[service].failed()
            raise UpstreamUnavailable(f"the {service} service cannot be reached: {error}") from None

    async def close(self) -> None:
        for client in self._clients.values():
            await client.close()
