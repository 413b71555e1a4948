"""Routes whose plain requests skip FastAPI's dependency solver.

``DirectRoute`` is an ``APIRoute`` (same matching, same OpenAPI operation, same error answers)
for the hot reads: a contact, a customer's 360 view, a call passed on by the gateway. A request
to one of them with no query string is answered by calling the endpoint itself with its path
parameters as matched, each query parameter's default, the request, and its dependencies
called with the request. FastAPI's solver arrives at the same values by walking every
parameter and dependency of the route on every request: 60-90 us of CPU, a quarter of a
contact's read (``py-spy`` of the contacts service driven in-process).

Only a route whose every input is already final without validation is called directly: path
parameters annotated ``str`` without constraints, query parameters with a constant default,
dependencies that are coroutine functions of the request alone (``caller``), and an async
endpoint annotated to return a ``Response`` (it writes its own bytes). Any other route, and any
request with a query string, goes through FastAPI's handler as before.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic.fields import FieldInfo

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
RequestDependency = Callable[[Request], Awaitable[Any]]

CONSTANTS = (type(None), bool, int, float, str)
"""Defaults handed to every request as they are: nothing a call could change in place."""


@dataclass(frozen=True)
class DirectCall:
    """How a route's endpoint is called for a request without a query string."""

    endpoint: Callable[..., Awaitable[Any]]
    path_params: tuple[str, ...]
    defaults: dict[str, Any]
    request_param: str | None
    dependencies: tuple[tuple[str | None, RequestDependency], ...]
    """(the endpoint's parameter, or None for a route's own ``dependencies=``; the call)"""
    overrides_provider: Any

    async def __call__(self, request: Request) -> Response:
        values = dict(self.defaults)
        path_params = request.path_params
        for name in self.path_params:
            values[name] = path_params[name]
        if self.request_param is not None:
            values[self.request_param] = request
        overrides = getattr(self.overrides_provider, "dependency_overrides", None)
        for parameter, dependency in self.dependencies:
            call = overrides.get(dependency, dependency) if overrides else dependency
            value = await call(request)
            if parameter is not None:
                values[parameter] = value
        response = await self.endpoint(**values)
        if not isinstance(response, Response):
            raise TypeError(
                f"{self.endpoint.__qualname__} is annotated to return a Response but returned"
                f" {type(response).__name__}"
            )
        return response


class DirectRoute(APIRoute):
    """An ``APIRoute`` whose requests without a query string call the endpoint directly when
    its inputs allow it (see the module's text); ``direct`` says whether they do."""

    direct: DirectCall | None = None

    def get_route_handler(self) -> Handler:
        solved = super().get_route_handler()
        self.direct = direct_call(self.dependant, self.dependency_overrides_provider)
        direct = self.direct
        if direct is None:
            return solved

        async def handler(request: Request) -> Response:
            if request.scope["query_string"]:
                return await solved(request)
            return await direct(request)

        return handler


def direct_call(dependant: Dependant, overrides_provider: Any = None) -> DirectCall | None:
    """How to call the route's endpoint without the solver, or None when it needs it."""
    endpoint = dependant.call
    if (
        endpoint is None
        or not inspect.iscoroutinefunction(endpoint)
        or not _returns_response(endpoint)
        or dependant.header_params
        or dependant.cookie_params
        or dependant.body_params
        or not _takes_only_the_request(dependant, allow_request=True)
    ):
        return None
    if not all(_is_plain_string(field.field_info) for field in dependant.path_params):
        return None
    defaults: dict[str, Any] = {}
    for field in dependant.query_params:
        default = field.field_info.default
        if field.field_info.default_factory is not None or type(default) not in CONSTANTS:
            return None  # required, or a default a call could change in place
        defaults[field.name] = default
    dependencies: list[tuple[str | None, RequestDependency]] = []
    for sub in dependant.dependencies:
        call = sub.call
        if (
            call is None
            or not inspect.iscoroutinefunction(call)
            or sub.dependencies
            or sub.request_param_name is None
            or _has_parameters(sub)
            or not _takes_only_the_request(sub, allow_request=True)
        ):
            return None
        dependencies.append((sub.name, call))
    if len({call for _, call in dependencies}) != len(dependencies):
        return None  # FastAPI calls a dependency used twice once; keep that to the solver
    return DirectCall(
        endpoint=endpoint,
        path_params=tuple(field.name for field in dependant.path_params),
        defaults=defaults,
        request_param=dependant.request_param_name,
        dependencies=tuple(dependencies),
        overrides_provider=overrides_provider,
    )


def _takes_only_the_request(dependant: Dependant, allow_request: bool) -> bool:
    return (
        (allow_request or dependant.request_param_name is None)
        and dependant.websocket_param_name is None
        and dependant.http_connection_param_name is None
        and dependant.response_param_name is None
        and dependant.background_tasks_param_name is None
        and dependant.security_scopes_param_name is None
        and not dependant.own_oauth_scopes
    )


def _has_parameters(dependant: Dependant) -> bool:
    return bool(
        dependant.path_params
        or dependant.query_params
        or dependant.header_params
        or dependant.cookie_params
        or dependant.body_params
    )


def _is_plain_string(field: FieldInfo) -> bool:
    return field.annotation is str and not field.metadata


def _returns_response(endpoint: Callable[..., Any]) -> bool:
    try:
        returned = typing.get_type_hints(endpoint).get("return")
    except (NameError, TypeError):  # an annotation that does not resolve: not ours to call
        return False
    return inspect.isclass(returned) and issubclass(returned, Response)
