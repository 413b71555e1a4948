"""``first_headers`` finds what ``request.headers.get`` finds, in one pass."""

from __future__ import annotations

from starlette.requests import Request

from crm_shared.http.requests import first_headers

NAMES = frozenset({b"authorization", b"x-tenant-id", b"x-actor-id"})


def request_with(headers: list[tuple[bytes, bytes]]) -> Request:
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers})


def test_each_name_asked_for_is_found_as_headers_get_finds_it() -> None:
    request = request_with(
        [
            (b"host", b"api.example"),
            (b"authorization", b"Bearer one"),
            (b"x-tenant-id", b"acme"),
            (b"authorization", b"Bearer two"),
            (b"x-other", b"\xe9t\xe9"),
        ]
    )
    found = first_headers(request.scope, NAMES | {b"x-other"})
    assert found == {
        name.encode(): request.headers[name] for name in ("authorization", "x-tenant-id", "x-other")
    }
    assert found[b"authorization"] == "Bearer one"
    assert found[b"x-other"] == "été"


def test_names_not_sent_or_not_asked_for_are_left_out() -> None:
    request = request_with([(b"host", b"api.example"), (b"x-tenant-id", b"acme")])
    assert first_headers(request.scope, NAMES) == {b"x-tenant-id": "acme"}
    assert first_headers(request.scope, frozenset()) == {}
