"""A ``DirectRoute`` answers as an ``APIRoute`` does; its plain requests skip the solver."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Annotated, Any
from unittest.mock import patch

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Header, Path, Query, Request, Response
from fastapi.routing import APIRoute
from prometheus_client import CollectorRegistry
from pydantic import BaseModel, Field
from starlette.types import Message

from crm_shared.caller import Caller
from crm_shared.errors import NotFound
from crm_shared.http import add_routes, create_service_app
from crm_shared.http.direct_routes import DirectCall, DirectRoute
from crm_shared.http.requests import Who, caller

DEVELOPER = {"X-Tenant-Id": "acme", "X-Actor-Id": "ada"}
JSON = {**DEVELOPER, "Content-Type": "application/json"}
UTF8_JSON = {**DEVELOPER, "Content-Type": "application/json; charset=utf-8"}


class NewNote(BaseModel):
    text: str = Field(min_length=1)
    pages: int = 1


def notes_router(route_class: type[APIRoute], overrides_from: FastAPI | None = None) -> APIRouter:
    router = APIRouter(
        prefix="/notes",
        tags=["notes"],
        route_class=route_class,
        dependency_overrides_provider=overrides_from,
    )

    @router.get("/{note_id}", responses={404: {"description": "No such note"}})
    async def read_note(
        note_id: str,
        who: Who,
        request: Request,
        limit: Annotated[int, Query(ge=1, le=10)] = 3,
        tag: str | None = None,
    ) -> Response:
        """One note."""
        if note_id == "missing":
            raise NotFound(f"no note {note_id}")
        answer = {
            "id": note_id,
            "tenant": who.tenant_id,
            "actor": who.actor,
            "limit": limit,
            "tag": tag,
            "path": request.url.path,
        }
        return Response(json.dumps(answer), media_type="application/json")

    @router.post("", status_code=201)
    async def write_note(
        body: NewNote,
        who: Who,
        idempotency_key: Annotated[str | None, Header(description="Retries")] = None,
    ) -> Response:
        """A new note."""
        answer = {"text": body.text, "pages": body.pages, "key": idempotency_key}
        return Response(json.dumps(answer), 201, media_type="application/json")

    return router


def app_with(route_class: type[APIRoute], overrides: bool = False) -> FastAPI:
    app = create_service_app("Notes", "1.0.0", CollectorRegistry())
    add_routes(app, notes_router(route_class, app if overrides else None))
    return app


def client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://test")


def direct_of(app: FastAPI, path: str) -> DirectCall | None:
    route = next(r for r in app.router.routes if getattr(r, "path", None) == path)
    assert isinstance(route, DirectRoute)
    return route.direct


async def answers(
    app: FastAPI, url: str, headers: dict[str, str], body: bytes | None = None
) -> tuple[int, Any]:
    async with client(app) as http:
        if body is None:
            answer = await http.get(url, headers=headers)
        else:
            answer = await http.post(url, headers=headers, content=body)
    return answer.status_code, answer.json()


@contextmanager
def direct_answers() -> Iterator[list[bool]]:
    """Whether each request was answered directly (True) or left to the solver (False)."""
    answered: list[bool] = []
    call = DirectCall.__call__

    async def spy(self: DirectCall, request: Request) -> Response | None:
        answer = await call(self, request)
        answered.append(answer is not None)
        return answer

    with patch.object(DirectCall, "__call__", spy):
        yield answered


class TestAnswersAsAnAPIRoute:
    @pytest.mark.parametrize(
        ("url", "headers", "status"),
        [
            ("/notes/n-1", DEVELOPER, 200),
            ("/notes/n-1?limit=7&tag=red", DEVELOPER, 200),
            ("/notes/n-1?limit=70", DEVELOPER, 422),
            ("/notes/missing", DEVELOPER, 404),
            ("/notes/n-1", {"X-Tenant-Id": "acme"}, 422),
        ],
        ids=["plain", "query", "bad-query", "not-found", "no-actor"],
    )
    async def test_every_answer_is_the_solvers(
        self, url: str, headers: dict[str, str], status: int
    ) -> None:
        direct = await answers(app_with(DirectRoute), url, headers)
        solved = await answers(app_with(APIRoute), url, headers)
        assert direct == solved
        assert direct[0] == status

    @pytest.mark.parametrize(
        ("body", "headers", "status"),
        [
            (b'{"text": "hello", "pages": 2}', JSON, 201),
            (b'{"text": "hello"}', {**JSON, "Idempotency-Key": "k-1"}, 201),
            (
                b'{"text": "hello"}',
                {**JSON, "Content-Type": "application/json; charset=utf-8"},
                201,
            ),
            (b'{"text": ""}', JSON, 422),
            (b'{"text": "hello", "pages": "many"}', JSON, 422),
            (b'{"text": "hel', JSON, 422),
            (b"", JSON, 422),
            (b'{"text": "hello"}', {**DEVELOPER, "Content-Type": "text/plain"}, 422),
            (b'{"text": "hello"}', {"Content-Type": "application/json"}, 422),
        ],
        ids=[
            "body",
            "idempotency-key",
            "charset",
            "short-text",
            "bad-pages",
            "broken-json",
            "empty",
            "not-json",
            "no-caller",
        ],
    )
    async def test_every_answer_to_a_body_is_the_solvers(
        self, body: bytes, headers: dict[str, str], status: int
    ) -> None:
        direct = await answers(app_with(DirectRoute), "/notes", headers, body)
        solved = await answers(app_with(APIRoute), "/notes", headers, body)
        assert direct == solved
        assert direct[0] == status

    async def test_a_plain_request_gets_the_defaults_and_the_caller(self) -> None:
        status, body = await answers(app_with(DirectRoute), "/notes/n-1", DEVELOPER)
        assert status == 200
        assert body == {
            "id": "n-1",
            "tenant": "acme",
            "actor": "ada",
            "limit": 3,
            "tag": None,
            "path": "/notes/n-1",
        }

    async def test_a_bad_query_parameter_is_named(self) -> None:
        status, body = await answers(app_with(DirectRoute), "/notes/n-1?limit=70", DEVELOPER)
        assert status == 422
        assert [(f["field"], f["location"]) for f in body["fields"]] == [("limit", "query")]

    def test_the_openapi_document_is_the_same(self) -> None:
        assert app_with(DirectRoute).openapi() == app_with(APIRoute).openapi()


class TestWhichRequestsSkipTheSolver:
    async def test_one_without_a_query_string_calls_the_endpoint_directly(self) -> None:
        app = app_with(DirectRoute)
        with direct_answers() as answered:
            async with client(app) as http:
                plain = await http.get("/notes/n-1", headers=DEVELOPER)
                queried = await http.get("/notes/n-1?tag=red", headers=DEVELOPER)
        assert plain.status_code == queried.status_code == 200
        assert queried.json()["tag"] == "red"
        assert answered == [True, False]

    async def test_a_json_body_of_the_model_is_taken_directly_anything_else_is_not(
        self,
    ) -> None:
        app = app_with(DirectRoute)
        with direct_answers() as answered:
            async with client(app) as http:
                made = await http.post("/notes", headers=JSON, content=b'{"text": "hi"}')
                refused = await http.post("/notes", headers=JSON, content=b'{"text": ""}')
                other = await http.post("/notes", headers=DEVELOPER, content=b'{"text": "hi"}')
        assert (made.status_code, refused.status_code, other.status_code) == (201, 422, 422)
        assert answered == [True, False, False]

    async def test_one_whose_dependency_is_overridden_is_left_to_the_solver(self) -> None:
        def another_caller() -> Caller:  # an override of any shape the solver takes
            return Caller("globex", "grace", "c-1", frozenset())

        app = app_with(DirectRoute, overrides=True)
        app.dependency_overrides[caller] = another_caller
        with direct_answers() as answered:
            status, body = await answers(app, "/notes/n-1", {})
        assert (status, body["tenant"], body["actor"]) == (200, "globex", "grace")
        assert answered == [False]

    async def test_an_endpoint_that_returns_no_response_is_an_error(self) -> None:
        router = APIRouter(route_class=DirectRoute)

        @router.get("/liar")
        async def liar() -> Response:
            return {"not": "a response"}  # type: ignore[return-value]

        app = create_service_app("Liar", "1.0.0", CollectorRegistry())
        add_routes(app, router)
        transport = httpx.ASGITransport(app=app)  # the app's exception, not only its 500
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            with pytest.raises(TypeError, match="liar is annotated to return a Response"):
                await http.get("/liar")

    async def test_a_body_the_client_stops_sending_is_answered_as_the_solver_answers(
        self,
    ) -> None:
        async def answer_to_a_cut_body(app: FastAPI) -> int:
            messages: list[Message] = [
                {"type": "http.request", "body": b'{"text": "he', "more_body": True},
                {"type": "http.disconnect"},
            ]
            statuses: list[int] = []

            async def receive() -> Message:
                return messages.pop(0)

            async def send(message: Message) -> None:
                if message["type"] == "http.response.start":
                    statuses.append(message["status"])

            headers = [(b"content-type", b"application/json"), (b"x-tenant-id", b"acme")]
            scope = {
                "type": "http",
                "asgi": {"version": "3.0"},
                "http_version": "1.1",
                "method": "POST",
                "scheme": "http",
                "path": "/notes",
                "raw_path": b"/notes",
                "query_string": b"",
                "root_path": "",
                "headers": [*headers, (b"x-actor-id", b"ada")],
                "client": ("127.0.0.1", 1),
                "server": ("test", 80),
            }
            await app(scope, receive, send)
            return statuses[0]

        with direct_answers() as answered:
            direct = await answer_to_a_cut_body(app_with(DirectRoute))
        assert direct == await answer_to_a_cut_body(app_with(APIRoute)) == 400
        assert answered == [False]


class Body(BaseModel):
    text: str


async def needs_a_header(request: Request, x_extra: Annotated[str, Header()]) -> str:
    return x_extra


async def yields_something(request: Request) -> AsyncIterator[str]:
    yield "something"


def routes_that_need_the_solver() -> APIRouter:
    router = APIRouter(route_class=DirectRoute)

    @router.post("/list-body")
    async def with_list_body(body: list[Body]) -> Response:
        return Response()

    @router.post("/two-bodies")
    async def with_two_bodies(first: Body, second: Body) -> Response:
        return Response()

    @router.post("/optional-body")
    async def with_optional_body(body: Body | None = None) -> Response:
        return Response()

    @router.get("/required-header")
    async def with_required_header(x_extra: Annotated[str, Header()]) -> Response:
        return Response()

    @router.get("/number-header")
    async def with_number_header(x_extra: Annotated[int | None, Header()] = None) -> Response:
        return Response()

    @router.get("/number/{n}")
    async def with_number(n: int) -> Response:
        return Response()

    @router.get("/short/{s}")
    async def with_constrained_string(s: Annotated[str, Path(max_length=3)]) -> Response:
        return Response()

    @router.get("/required")
    async def with_required_query(q: str) -> Response:
        return Response()

    @router.get("/list")
    async def with_list_default(q: Annotated[list[str], Query()] = []) -> Response:  # noqa: B006
        return Response()

    @router.get("/response")
    async def with_response_parameter(response: Response) -> Response:
        return response

    @router.get("/model")
    async def returning_a_model() -> dict[str, str]:
        return {}

    @router.get("/sync")
    def synchronous() -> Response:
        return Response()

    @router.get("/dependency-with-header")
    async def with_dependency_parameters(
        extra: Annotated[str, Depends(needs_a_header)],
    ) -> Response:
        return Response()

    @router.get("/generator")
    async def with_generator_dependency(
        thing: Annotated[str, Depends(yields_something)],
    ) -> Response:
        return Response()

    return router


class TestWhichRoutesNeedTheSolver:
    @pytest.mark.parametrize(
        "path",
        [
            "/list-body",
            "/two-bodies",
            "/optional-body",
            "/required-header",
            "/number-header",
            "/number/{n}",
            "/short/{s}",
            "/required",
            "/list",
            "/response",
            "/model",
            "/sync",
            "/dependency-with-header",
            "/generator",
        ],
    )
    def test_a_route_whose_inputs_need_validating_or_whose_answer_needs_writing(
        self, path: str
    ) -> None:
        app = FastAPI()
        add_routes(app, routes_that_need_the_solver())
        assert direct_of(app, path) is None

    def test_a_route_of_path_strings_defaults_the_request_and_the_caller_is_direct(
        self,
    ) -> None:
        direct = direct_of(app_with(DirectRoute), "/notes/{note_id}")
        assert direct is not None
        assert direct.path_params == ("note_id",)
        assert direct.defaults == {"limit": 3, "tag": None}
