"""Error bodies: every error answers ``{"error": code, "detail": text, ...}``.

- a ``PlatformError``: its ``status_code`` and ``to_body()``;
- a request that fails validation: 422 ``{"error": "validation_failed", "detail": ...,
  "fields": [{"field": "email", "location": "body", "reason": "..."}]}`` (the shape domain
  errors such as the contacts service's ``InvalidValue`` use too);
- an ``HTTPException`` (unknown route, wrong method...): its status, ``error`` named after it;
- no database connection free in time (the pool is full): 503 ``database_busy`` with
  ``Retry-After``;
- anything else: 500 ``internal_error``, without internals (they go to the logs).

The OpenAPI document describes the 422 body as it is (``ValidationProblem``), not FastAPI's
default, so that a client, or schemathesis, can rely on it.
"""

from __future__ import annotations

import json
import re
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.exceptions import HTTPException

from crm_shared.errors import PlatformError
from crm_shared.http.openapi import amend_openapi


class Problem(BaseModel):
    """The body of every error answer; some errors add fields (e.g. the versions of a 409)."""

    model_config = ConfigDict(extra="allow")

    error: str = Field(description="Stable, machine-readable code of the error.")
    detail: str = Field(description="What went wrong, for a human.")


class FieldProblem(BaseModel):
    field: str = Field(description="Dotted path of the field within its location.")
    location: str | None = Field(None, description="body, query, path, header or cookie.")
    reason: str = Field(description="Why the value was refused.")


class ValidationProblem(Problem):
    """A request whose content does not follow the rules; one entry per field at fault."""

    fields: list[FieldProblem]


def field_problems(error: RequestValidationError) -> list[FieldProblem]:
    """One entry per error pydantic reported, naming the field, where it was and why."""
    problems = []
    for reported in error.errors():
        location = [str(part) for part in reported.get("loc", ())]
        where = location[0] if location else "request"
        field = ".".join(location[1:]) or where
        problems.append(FieldProblem(field=field, location=where, reason=str(reported["msg"])))
    return problems


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(PlatformError, _platform_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_exception)
    app.add_exception_handler(PoolTimeout, _pool_timeout)
    app.add_exception_handler(Exception, _unexpected_error)
    # the document's 422 answers: ValidationProblem, as they are sent, not FastAPI's
    amend_openapi(app, _replace_validation_schema)


async def _platform_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, PlatformError)
    return JSONResponse(
        jsonable_encoder(error.to_body()), status_code=error.status_code, headers=error.headers
    )


async def _validation_error(_: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    fields = field_problems(error)
    body = ValidationProblem(
        error="validation_failed",
        detail="; ".join(f"{p.field}: {p.reason}" for p in fields),
        fields=fields,
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=422)


async def _http_exception(_: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if error.status_code < 200 or error.status_code in (204, 205, 304):
        return Response(status_code=error.status_code, headers=error.headers)  # no body allowed
    code = re.sub(r"[^a-z0-9]+", "_", HTTPStatus(error.status_code).phrase.lower()).strip("_")
    body = {"error": code, "detail": str(error.detail)}
    return JSONResponse(body, status_code=error.status_code, headers=error.headers)


async def _pool_timeout(_: Request, __: Exception) -> JSONResponse:
    body = {
        "error": "database_busy",
        "detail": "every database connection stayed busy for CRM_DB_POOL_TIMEOUT_S; retry",
    }
    return JSONResponse(body, status_code=503, headers={"Retry-After": "1"})


async def _unexpected_error(_: Request, __: Exception) -> JSONResponse:
    # Starlette re-raises the exception after this answer, so the server logs it.
    body = {"error": "internal_error", "detail": "the service failed to answer; see its logs"}
    return JSONResponse(body, status_code=500)


def validation_problem_answer() -> dict[str, Any]:
    """The OpenAPI description of a 422 answer (its body: ``ValidationProblem``)."""
    return {
        "description": "The request does not follow the rules",
        "content": {"application/json": {"schema": {"$ref": _ref(ValidationProblem.__name__)}}},
    }


def _ref(name: str) -> str:
    return f"#/components/schemas/{name}"


def _replace_validation_schema(document: dict[str, Any]) -> None:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    problem = ValidationProblem.model_json_schema(ref_template=_ref("{model}"))
    schemas.update(problem.pop("$defs", {}))
    schemas[ValidationProblem.__name__] = problem
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            answer = operation.get("responses", {}).get("422")
            if answer and _ref("HTTPValidationError") in json.dumps(answer):
                answer.update(validation_problem_answer())
    for unused in ("HTTPValidationError", "ValidationError"):  # in this order
        definition = schemas.pop(unused, None)
        if definition is not None and _ref(unused) in json.dumps(document):
            schemas[unused] = definition  # something else still refers to it
