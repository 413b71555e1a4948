"""A ``DirectRoute`` answers as an ``APIRoute`` does; its plain requests skip the solver."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any
from unittest.mock import patch

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Header, Path, Query, Request, Response
from fastapi.routing import APIRoute
from prometheus_client import CollectorRegistry
from pydantic import BaseModel

from crm_shared.caller import Caller
from crm_shared.errors import NotFound
from crm_shared.http import add_routes, create_service_app
from crm_shared.http.direct_routes import DirectCall, DirectRoute
from crm_shared.http.requests import Who, caller

DEVELOPER = {"X-Tenant-Id": "acme", "X-Actor-Id": "ada"}


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


async def answers(app: FastAPI, url: str, headers: dict[str, str]) -> tuple[int, Any]:
    async with client(app) as http:
        answer = await http.get(url, headers=headers)
    return answer.status_code, answer.json()


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
        with patch.object(DirectCall, "__call__", autospec=True) as direct:
            direct.return_value = Response(b"{}", media_type="application/json")
            async with client(app) as http:
                plain = await http.get("/notes/n-1", headers=DEVELOPER)
                queried = await http.get("/notes/n-1?tag=red", headers=DEVELOPER)
        assert plain.status_code == queried.status_code == 200
        assert direct.call_count == 1
        assert queried.json()["tag"] == "red"

    async def test_a_dependency_override_applies_as_it_does_for_the_solver(self) -> None:
        async def another_caller(request: Request) -> Caller:
            return Caller("globex", "grace", "c-1", frozenset())

        for route_class in (DirectRoute, APIRoute):
            app = app_with(route_class, overrides=True)
            app.dependency_overrides[caller] = another_caller
            status, body = await answers(app, "/notes/n-1", {})
            assert (status, body["tenant"], body["actor"]) == (200, "globex", "grace")

    async def test_an_endpoint_that_returns_no_response_is_an_error(self) -> None:
        router = APIRouter(route_class=DirectRoute)

        @router.get("/liar")
        async def liar() -> Response:
            return {"not": "a response"}  # type: ignore[return-value]

        app = create_service_app("Liar", "1.0.0", CollectorRegistry())
        add_routes(app, router)
        async with client(app) as http:
            assert (await http.get("/liar")).status_code == 500


class Body(BaseModel):
    text: str


async def needs_a_header(request: Request, x_extra: Annotated[str, Header()]) -> str:
    return x_extra


async def yields_something(request: Request) -> AsyncIterator[str]:
    yield "something"


def routes_that_need_the_solver() -> APIRouter:
    router = APIRouter(route_class=DirectRoute)

    @router.post("/body")
    async def with_body(body: Body) -> Response:
        return Response()

    @router.get("/header")
    async def with_header(x_extra: Annotated[str, Header()]) -> Response:
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
            "/body",
            "/header",
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
