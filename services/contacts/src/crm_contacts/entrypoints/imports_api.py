"""CSV imports over HTTP: upload with a column mapping, poll the progress, page the errors."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, File, Form, Query, Response, UploadFile, status
from pydantic import BaseModel, Field

from crm_contacts.adapters.imports_store import ImportJob
from crm_contacts.application.imports import ImportHandlers
from crm_contacts.domain.errors import InvalidValue
from crm_shared.http.requests import Who

READ_BYTES = 256 * 1024


class ImportRead(BaseModel):
    id: str
    status: str = Field(description="queued, running, completed or failed")
    mode: str
    on_duplicate: str
    file_sha256: str
    file_bytes: int
    mapping: dict[str, str]
    rows_done: int = Field(description="Rows read and handled so far")
    created: int
    updated: int
    skipped: int
    unchanged: int = Field(description="Rows this file had already imported, or no change")
    failed: int = Field(description="Bad rows; see /imports/{id}/errors")
    problem: str | None = Field(description="Why the whole import failed, if it did")
    created_at: datetime
    finished_at: datetime | None


class RowProblem(BaseModel):
    line: int = Field(description="Line of the file (the header is line 1)")
    field: str
    reason: str


def import_body(job: ImportJob) -> ImportRead:
    return ImportRead(
        id=job.import_id,
        status=job.status,
        mode=job.mode,
        on_duplicate=job.on_duplicate,
        file_sha256=job.file_sha256,
        file_bytes=job.file_bytes,
        mapping=job.mapping,
        rows_done=job.rows_done,
        problem=job.problem,
        created_at=job.created_at,
        finished_at=job.finished_at,
        **job.counts,
    )


def imports_router(handlers: ImportHandlers) -> APIRouter:
    router = APIRouter(prefix="/imports", tags=["imports"])

    @router.post("", status_code=status.HTTP_202_ACCEPTED, response_model=ImportRead)
    async def start_import(
        who: Who,
        response: Response,
        file: Annotated[UploadFile, File(description="UTF-8 CSV with a header row")],
        mapping: Annotated[str, Form(description='JSON: {"CSV column": "contact field"}')],
        mode: Annotated[Literal["dry_run", "apply"], Form()] = "apply",
        on_duplicate: Annotated[Literal["skip", "update", "create"], Form()] = "skip",
    ) -> ImportRead:
        """Upload a CSV of contacts, streamed into the database; a worker applies it in
        batches (poll ``Location``). Fields: first_name, last_name, email(s), phone(s),
        lifecycle_stage, owner_id, tags, source, address.<line1|line2|city|region|postal_code|
        country>, custom.<name>; several values in one cell are separated by ``;``. A dry run
        reports every bad row and what would happen, and writes no contact. The same file again
        creates nothing twice."""
        try:
            parsed = json.loads(mapping)
        except json.JSONDecodeError:
            raise InvalidValue("mapping", "not JSON") from None

        async def pieces() -> AsyncIterator[bytes]:
            while data := await file.read(READ_BYTES):
                yield data

        import_id = await handlers.start(who, pieces(), parsed, mode, on_duplicate)
        response.headers["Location"] = f"/imports/{import_id}"
        return import_body(await handlers.job(who.tenant_id, import_id))

    @router.get("/{import_id}", response_model=ImportRead)
    async def get_import(import_id: str, who: Who) -> ImportRead:
        """The import's status and counts so far: what a client polls."""
        return import_body(await handlers.job(who.tenant_id, import_id))

    @router.get("/{import_id}/errors", response_model=list[RowProblem])
    async def import_errors(
        import_id: str,
        who: Who,
        after_line: Annotated[int, Query(ge=0, description="Page on from this line")] = 0,
        limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    ) -> list[RowProblem]:
        """Every bad row with its line number, field and reason, in line order."""
        found = await handlers.errors(who.tenant_id, import_id, after_line, limit)
        return [RowProblem(line=line, field=field, reason=reason) for line, field, reason in found]

    return router
