"""HTTP calls to the services behind the gateway, each with a timeout and a circuit breaker."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
from multidict import CIMultiDictProxy
from opentelemetry.propagate import inject
from pydantic_core import from_json

from crm_gateway.domain.breaker import CircuitBreaker
from crm_gateway.domain.routes import Service
from crm_shared.errors import PlatformError


class UpstreamUnavailable(PlatformError):
    """The service did not answer in time, could not be reached, or its circuit is open."""

    status_code = 503
    code = "service_unavailable"


@dataclass(frozen=True)
class Answer:
    """A service's answer, read whole."""

    status_code: int
    headers: CIMultiDictProxy[str]
    content: bytes

    def json(self) -> Any:
        return from_json(self.content)


class StreamedAnswer:
    """A service's answer whose body is still to come: ``aiter_raw`` or ``aread`` it, then
    ``aclose``."""

    def __init__(self, upstreams: Upstreams, service: Service, response: aiohttp.ClientResponse):
        self._upstreams, self._service, self._response = upstreams, service, response
        self.status_code = response.status
        self.headers = response.headers

    async def aread(self) -> bytes:
        with self._upstreams.failures(self._service):  # the connection may break meanwhile
            return await self._response.read()

    async def aiter_raw(self) -> AsyncIterator[bytes]:
        with self._upstreams.failures(self._service):
            async for chunk in self._response.content.iter_any():
                yield chunk

    async def aclose(self) -> None:
        self._response.release()


class Upstreams:
    """Requests go out on one aiohttp session per service: its connection pool, without
    httpx's request and response objects over it (a fifth of the gateway's CPU a view).

    The sessions keep no cookie: aiohttp's own jar would keep one an upstream set in answer to
    one caller and send it with every later caller's request to that host. They ask for no
    compression and decode none: answers are passed on as they come. Idle connections are
    dropped before the services' servers drop theirs (5 s), so that a request never goes out
    on a connection being closed. A timeout bounds the connection and each read, not the
    whole answer: a streamed export may take minutes, as long as it keeps coming."""

    def __init__(
        self,
        urls: Mapping[Service, str],
        timeout_s: float,
        breaker_failures: int,
        breaker_reset_s: float,
    ) -> None:
        self._urls = {service: url.rstrip("/") for service, url in urls.items()}
        self._timeout = aiohttp.ClientTimeout(total=None, connect=timeout_s, sock_read=timeout_s)
        self._sessions: dict[Service, aiohttp.ClientSession] = {}
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
        answer = await self.stream(
            service, method, path, params=params, headers=headers or {}, content=content
        )
        try:
            body = await answer.aread()
        finally:
            await answer.aclose()
        return Answer(answer.status_code, answer.headers, body)

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
        response = await self._send(service, method, path, params, headers, content)
        return StreamedAnswer(self, service, response)

    async def _send(
        self,
        service: Service,
        method: str,
        path: str,
        params: Sequence[tuple[str, str]],
        headers: Mapping[str, str] | None,
        content: bytes | AsyncIterator[bytes] | None,
    ) -> aiohttp.ClientResponse:
        """A 5xx, a timeout or a refused connection counts against the service's circuit."""
        breaker = self.breakers[service]
        if not breaker.allow():
            raise UpstreamUnavailable(f"the {service} service is unavailable (circuit open)")
        sent = dict(headers or {})
        inject(sent)  # the service's spans join the caller's trace (W3C traceparent)
        with self.failures(service):
            response = await self._session(service).request(
                method,
                self._urls[service] + path,
                params=params or None,
                headers=sent,
                data=content,
                timeout=self._timeout,
                allow_redirects=False,
            )
        if response.status >= 500:
            breaker.failed()
        else:
            breaker.succeeded()
        return response

    def _session(self, service: Service) -> aiohttp.ClientSession:
        """The connections to one service (made on the first call, in the running loop)."""
        session = self._sessions.get(service)
        if session is None:
            session = self._sessions[service] = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=64, keepalive_timeout=4),
                cookie_jar=aiohttp.DummyCookieJar(),
                skip_auto_headers=("Accept-Encoding", "User-Agent", "Content-Type"),
                auto_decompress=False,
            )
        return session

    @contextmanager
    def failures(self, service: Service) -> Iterator[None]:
        """A timeout or a broken or refused connection: counted against the service's circuit
        and answered as ``UpstreamUnavailable``."""
        try:
            yield
        except TimeoutError:
            self.breakers[service].failed()
            raise UpstreamUnavailable(f"the {service} service did not answer in time") from None
        except aiohttp.ClientError as error:
            self.breakers[service].failed()
            raise UpstreamUnavailable(f"the {service} service cannot be reached: {error}") from None

    async def close(self) -> None:
        for session in self._sessions.values():
            await session.close()
