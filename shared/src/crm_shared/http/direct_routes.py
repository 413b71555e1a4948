"""Routes whose plain requests skip FastAPI's dependency solver.

``DirectRoute`` is an ``APIRoute`` (same matching, same OpenAPI operation, same error answers)
for the hot paths: a contact's read and create, a customer's 360 view, a call passed on by the
gateway. A request with no query string (and, for a route taking a body, a JSON body its model
accepts) is answered by calling the endpoint itself: its path parameters as matched, each query
parameter's default, its string headers as sent, the body as its model, the request, and its
dependencies called with the request. FastAPI's solver arrives at the same values by walking
every parameter and dependency of the route on every request: 60-110 us of CPU, a quarter of a
contact's read and a tenth of its create (``py-spy`` of the contacts service driven
in-process).

Only a route whose every input is final without validation, or is one model validated from the
JSON body, is called directly: path parameters annotated ``str`` without constraints, query
parameters with a constant default, optional string headers, at most one body parameter that is
a pydantic model, dependencies that are coroutine functions of the request alone (``caller``),
and an async endpoint annotated to return a ``Response`` (it writes its own bytes). Any other
route goes through FastAPI's handler as before, and so does any request with a query string,
a body that is not JSON, or a body the model refuses: the solver's answer names what is wrong.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response, params
from fastapi._compat import ModelField
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from starlette.requests import ClientDisconnect

from crm_shared.http.requests import first_headers

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
RequestDependency = Callable[[Request], Awaitable[Any]]

CONSTANTS = (type(None), bool, int, float, str)
"""Defaults handed to every request as they are: nothing a call could change in place."""


@dataclass(frozen=True)
class DirectCall:
    """How a route's endpoint is called without the solver."""

    endpoint: Callable[..., Awaitable[Any]]
    path_params: tuple[str, ...]
    defaults: dict[str, Any]
    headers: tuple[tuple[str, bytes], ...]
    """(the endpoint's parameter, the header it reads): a header absent keeps its default"""
    headers_read: frozenset[bytes]
    """Those headers, and the content type when the route takes a body."""
    body: tuple[str, type[BaseModel]] | None
    """(the endpoint's parameter, the model of the JSON body it takes)"""
    request_param: str | None
    dependencies: tuple[tuple[str | None, RequestDependency], ...]
    """(the endpoint's parameter, or None for a route's own ``dependencies=``; the call)"""
    overrides_provider: Any

    async def __call__(self, request: Request) -> Response | None:
        """The endpoint's answer; None when the request needs the solver: a query string, a
        body that is not JSON of the model (the solver's answer names what is wrong), or a
        dependency overridden (``app.dependency_overrides``, in tests)."""
        if request.scope["query_string"] or self._overridden():
            return None
        values = dict(self.defaults)
        sent = first_headers(request.scope, self.headers_read) if self.headers_read else {}
        if self.body is not None:
            name, model = self.body
            if not _is_json(sent.get(b"content-type")):
                return None
            try:
                values[name] = model.model_validate_json(await request.body())
            except (ValidationError, ClientDisconnect):
                return None
        path_params = request.path_params
        for name in self.path_params:
            values[name] = path_params[name]
        for name, header in self.headers:
            if header in sent:
                values[name] = sent[header]
        if self.request_param is not None:
            values[self.request_param] = request
        for parameter, dependency in self.dependencies:
            value = await dependency(request)
            if parameter is not None:
                values[parameter] = value
        response = await self.endpoint(**values)
        if not isinstance(response, Response):
            raise TypeError(
                f"{self.endpoint.__qualname__} is annotated to return a Response but returned"
                f" {type(response).__name__}"
            )
        return response

    def _overridden(self) -> bool:
        overrides: dict[Any, Any] = getattr(self.overrides_provider, "dependency_overrides", {})
        return bool(overrides) and any(call in overrides for _, call in self.dependencies)


class DirectRoute(APIRoute):
    """An ``APIRoute`` whose plain requests call the endpoint directly when its inputs allow
    it (see the module's text); ``direct`` says whether they do."""

    direct: DirectCall | None = None

    def get_route_handler(self) -> Handler:
        solved = super().get_route_handler()
        self.direct = direct_call(
            self.dependant, self.dependency_overrides_provider, self._embed_body_fields
        )
        direct = self.direct
        if direct is None:
            return solved

        async def handler(request: Request) -> Response:
            answer = await direct(request)
            return answer if answer is not None else await solved(request)

        return handler


def direct_call(
    dependant: Dependant, overrides_provider: Any = None, embed_body_fields: bool = False
) -> DirectCall | None:
    """How to call the route's endpoint without the solver, or None when it needs it."""
    endpoint = dependant.call
    if (
        endpoint is None
        or not inspect.iscoroutinefunction(endpoint)
        or not _returns_response(endpoint)
        or dependant.cookie_params
        or not _takes_only_the_request(dependant)
    ):
        return None
    if not all(_is_plain_string(field.field_info) for field in dependant.path_params):
        return None
    defaults: dict[str, Any] = {}
    for field in [*dependant.query_params, *dependant.header_params]:
        default = field.field_info.default
        if field.field_info.default_factory is not None or type(default) not in CONSTANTS:
            return None  # required, or a default a call could change in place
        defaults[field.name] = default
    if not all(_is_optional_string(field.field_info) for field in dependant.header_params):
        return None
    body = _json_model_body(dependant.body_params, embed_body_fields)
    if body is None and dependant.body_params:
        return None
    dependencies: list[tuple[str | None, RequestDependency]] = []
    for sub in dependant.dependencies:
        call = sub.call
        if (
            call is None
            or not inspect.iscoroutinefunction(call)
            or sub.dependencies
            or sub.request_param_name is None
            or _has_parameters(sub)
            or not _takes_only_the_request(sub)
        ):
            return None
        dependencies.append((sub.name, call))
    if len({call for _, call in dependencies}) != len(dependencies):
        return None  # FastAPI calls a dependency used twice once; keep that to the solver
    headers = tuple(
        (field.name, field.alias.lower().encode("latin-1")) for field in dependant.header_params
    )
    return DirectCall(
        endpoint=endpoint,
        path_params=tuple(field.name for field in dependant.path_params),
        defaults=defaults,
        headers=headers,
        headers_read=frozenset(header for _, header in headers)
        | ({b"content-type"} if body else set()),
        body=body,
        request_param=dependant.request_param_name,
        dependencies=tuple(dependencies),
        overrides_provider=overrides_provider,
    )


def _json_model_body(
    fields: list[ModelField], embed_body_fields: bool
) -> tuple[str, type[BaseModel]] | None:
    """The one parameter the whole JSON body validates as, when it is a model."""
    if len(fields) != 1 or embed_body_fields:
        return None
    field = fields[0]
    info = field.field_info
    model = info.annotation
    if (
        not isinstance(info, params.Body)
        or isinstance(info, params.Form)
        or not info.is_required()
        or info.metadata
        or not (inspect.isclass(model) and issubclass(model, BaseModel))
    ):
        return None
    return field.name, model


def _is_json(content_type: str | None) -> bool:
    """As FastAPI reads a body as JSON: ``application/json`` or ``application/*+json``."""
    if content_type is None:
        return False
    media_type = content_type.partition(";")[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def _takes_only_the_request(dependant: Dependant) -> bool:
    """Nothing among its inputs but, perhaps, the request."""
    return (
        dependant.websocket_param_name is None
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


def _is_optional_string(field: FieldInfo) -> bool:
    """A header read as it is sent: a string, nothing to convert or check."""
    return (
        (field.annotation is str or set(typing.get_args(field.annotation)) == {str, type(None)})
        and not field.metadata
        and field.validation_alias is None
    )


def _returns_response(endpoint: Callable[..., Any]) -> bool:
    try:
        returned = typing.get_type_hints(endpoint).get("return")
    except (NameError, TypeError):  # an annotation that does not resolve: not ours to call
        return False
    return inspect.isclass(returned) and issubclass(returned, Response)
