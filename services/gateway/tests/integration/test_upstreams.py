"""The gateway's calls to the services over real sockets: a body streamed up and down, a
service that never answers cut off at the timeout, one that refuses connections reported at
once, both counted against its circuit."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from urllib.parse import parse_qsl, urlsplit

import pytest
from starlette.requests import ClientDisconnect

from crm_devstack.processes import free_port
from crm_gateway.adapters.upstreams import Upstreams, UpstreamUnavailable


async def echo_length(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """An HTTP/1.1 server answering with the size of the (chunked) body it received."""
    head = await reader.readuntil(b"\r\n\r\n")
    received = 0
    if b"chunked" in head.lower():
        while True:
            size = int((await reader.readline()).strip(), 16)
            if size == 0:
                await reader.readline()
                break
            received += len(await reader.readexactly(size + 2)) - 2
    body = str(received).encode() * 1000
    writer.write(
        b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body
    )
    await writer.drain()
    writer.close()


async def never_answers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    await reader.read()  # until the gateway hangs up
    writer.close()


async def answering(answer: bytes) -> tuple[asyncio.Server, str, list[bytes]]:
    """A server that sends ``answer`` to every request, its URL, and the heads of the requests
    it got."""
    heads: list[bytes] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        heads.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(answer)
        await writer.drain()
        writer.close()

    server, url = await serving(handler)
    return server, url, heads


async def serving(handler: object) -> tuple[asyncio.Server, str]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)  # type: ignore[arg-type]
    port = server.sockets[0].getsockname()[1]
    return server, f"http://127.0.0.1:{port}"


async def chunks() -> AsyncIterator[bytes]:
    for _ in range(100):
        yield b"x" * 10_000


@pytest.mark.integration
async def test_a_body_streams_up_and_the_answer_streams_down() -> None:
    server, url = await serving(echo_length)
    upstreams = Upstreams({"contacts": url}, 2.0, 5, 10.0)
    try:
        answer = await upstreams.stream(
            "contacts", "POST", "/imports", headers={}, content=chunks()
        )
        body = b"".join([chunk async for chunk in answer.aiter_raw()])
        await answer.aclose()
    finally:
        await upstreams.close()
        server.close()
    assert answer.status_code == 200
    assert body == b"1000000" * 1000


@pytest.mark.integration
async def test_a_service_that_never_answers_is_cut_off_at_the_timeout() -> None:
    server, url = await serving(never_answers)
    upstreams = Upstreams({"contacts": url}, 0.5, 1, 10.0)
    started = time.monotonic()
    try:
        with pytest.raises(UpstreamUnavailable, match="did not answer in time"):
            await upstreams.call("contacts", "GET", "/contacts/1")
        waited = time.monotonic() - started
        with pytest.raises(UpstreamUnavailable, match="circuit open"):
            await upstreams.call("contacts", "GET", "/contacts/1")
    finally:
        await upstreams.close()
        server.close()
    assert 0.4 < waited < 2


@pytest.mark.integration
async def test_a_service_that_refuses_connections_is_reported_at_once() -> None:
    upstreams = Upstreams({"sales": f"http://127.0.0.1:{free_port()}"}, 2.0, 1, 10.0)
    started = time.monotonic()
    try:
        with pytest.raises(UpstreamUnavailable, match="cannot be reached"):
            await upstreams.call("sales", "GET", "/leads")
        refused_after = time.monotonic() - started
        with pytest.raises(UpstreamUnavailable, match="circuit open"):
            await upstreams.call("sales", "GET", "/leads")
    finally:
        await upstreams.close()
    assert refused_after < 1


@pytest.mark.integration
async def test_a_cookie_a_service_sets_is_never_sent_back_with_another_callers_request() -> None:
    server, url, heads = await answering(
        b"HTTP/1.1 200 OK\r\nSet-Cookie: session=ada-secret; Path=/\r\n"
        b"Content-Length: 2\r\nConnection: close\r\n\r\n{}"
    )
    # by name, as services are reached in a deployment (a client may keep no cookie of an
    # IP address's, which would hide one kept of a host's)
    upstreams = Upstreams({"contacts": url.replace("127.0.0.1", "localhost")}, 2.0, 5, 10.0)
    try:
        first = await upstreams.call(
            "contacts", "GET", "/contacts/1", headers={"x-actor-id": "ada"}
        )
        await upstreams.call("contacts", "GET", "/contacts/2", headers={"x-actor-id": "bob"})
    finally:
        await upstreams.close()
        server.close()
    assert first.headers["set-cookie"].startswith("session=")
    assert len(heads) == 2
    assert b"ada-secret" not in heads[1].lower()
    assert b"cookie:" not in heads[1].lower()


@pytest.mark.integration
async def test_a_service_is_never_asked_for_a_compressed_answer() -> None:
    """Answers are passed on as they come, and the caller would get a compressed one without
    its Content-Encoding: the gateway asks for none (reqwest asks for gzip, brotli, zstd and
    deflate by default)."""
    server, url, heads = await answering(
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
    )
    upstreams = Upstreams({"contacts": url}, 2.0, 5, 10.0)
    try:
        await upstreams.call("contacts", "GET", "/contacts/1")
    finally:
        await upstreams.close()
        server.close()
    assert b"accept-encoding" not in heads[0].lower()


@pytest.mark.integration
async def test_an_answer_cut_off_mid_body_is_unavailable_and_counts_against_the_circuit() -> None:
    async def hangs_up_mid_body(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"{" * 10)
        await writer.drain()
        writer.close()

    server, url = await serving(hangs_up_mid_body)
    upstreams = Upstreams({"contacts": url}, 2.0, 1, 10.0)
    try:
        with pytest.raises(UpstreamUnavailable, match="cannot be reached"):
            await upstreams.call("contacts", "GET", "/contacts/1")
        with pytest.raises(UpstreamUnavailable, match="circuit open"):
            await upstreams.call("contacts", "GET", "/contacts/1")
    finally:
        await upstreams.close()
        server.close()


@pytest.mark.integration
async def test_query_parameters_and_headers_reach_the_service_as_the_caller_sent_them() -> None:
    server, url, heads = await answering(b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n")
    upstreams = Upstreams({"contacts": url}, 2.0, 5, 10.0)
    params = [("tag", "vip"), ("tag", "a&b=c"), ("q", "Zoë Ünal + co"), ("empty", "")]
    try:
        answer = await upstreams.call(
            "contacts", "GET", "/contacts", params=params, headers={"X-Actor-Id": "ada"}
        )
    finally:
        await upstreams.close()
        server.close()
    request_line, *header_lines = heads[0].decode("latin-1").split("\r\n")
    target = urlsplit(request_line.split(" ")[1])
    assert answer.status_code == 204
    assert target.path == "/contacts"
    assert parse_qsl(target.query, keep_blank_values=True) == params
    assert "x-actor-id: ada" in [line.lower() for line in header_lines]


@pytest.mark.integration
async def test_a_redirect_is_passed_on_to_the_caller_not_followed() -> None:
    server, url, heads = await answering(
        b"HTTP/1.1 303 See Other\r\nLocation: /imports/7\r\nContent-Length: 0\r\n"
        b"Connection: close\r\n\r\n"
    )
    upstreams = Upstreams({"contacts": url}, 2.0, 5, 10.0)
    try:
        answer = await upstreams.call("contacts", "POST", "/imports", content=b"{}")
    finally:
        await upstreams.close()
        server.close()
    assert (answer.status_code, answer.headers["location"]) == (303, "/imports/7")
    assert len(heads) == 1


@pytest.mark.integration
async def test_a_caller_leaving_mid_upload_is_its_own_error_not_the_services() -> None:
    """The gateway answers 499 to a caller that stopped sending its body; the service is not
    to blame, so its circuit stays closed."""
    server, url = await serving(never_answers)
    upstreams = Upstreams({"contacts": url}, 2.0, 1, 10.0)

    async def cut_off() -> AsyncIterator[bytes]:
        yield b"x" * 10_000
        raise ClientDisconnect

    try:
        with pytest.raises(ClientDisconnect):
            await upstreams.stream("contacts", "POST", "/imports", headers={}, content=cut_off())
        assert upstreams.breakers["contacts"].allow()
    finally:
        await upstreams.close()
        server.close()
