"""What the gateway sends on: a small body whole, with its length (one write, no chunking);
a large or unsized one (a CSV import) streamed through as it arrives."""

from __future__ import annotations

from collections.abc import AsyncIterator

from starlette.requests import Request

from crm_gateway.entrypoints.api import WHOLE_BODY_LIMIT, request_body


def incoming(method: str, body: bytes, headers: dict[str, str]) -> Request:
    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": body, "more_body": False}

    scope = {
        "type": "http",
        "method": method,
        "path": "/contacts",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "query_string": b"",
    }
    return Request(scope, receive)


async def test_a_small_body_of_known_length_is_sent_on_whole() -> None:
    body = b'{"lifecycle_stage": "lead"}'
    sent = await request_body(incoming("PATCH", body, {"Content-Length": str(len(body))}))
    assert sent == body


async def test_a_body_without_a_length_is_streamed_through() -> None:
    sent = await request_body(incoming("POST", b"a,b\n1,2\n", {}))
    assert isinstance(sent, AsyncIterator)
    assert b"".join([chunk async for chunk in sent]) == b"a,b\n1,2\n"


async def test_a_body_above_the_limit_is_streamed_through() -> None:
    size = str(WHOLE_BODY_LIMIT + 1)
    sent = await request_body(incoming("POST", b"x", {"Content-Length": size}))
    assert isinstance(sent, AsyncIterator)


async def test_a_read_sends_no_body() -> None:
    assert await request_body(incoming("GET", b"", {})) is None
