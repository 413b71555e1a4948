"""The contacts HTTP API: thin translations from requests to commands and queries.

The caller (tenant, acting user) and ``If-Match`` are read as every service reads them
(``crm_shared.http.requests``).
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request, Response, status
from fastapi.responses import JSONResponse, StreamingResponse

from crm_contacts.adapters.idempotency import AlreadyCreated
from crm_contacts.adapters.read_model import ContactFilter, ContactRow
from crm_contacts.application.commands import (
    ArchiveContact,
    Caller,
    ChangeConsent,
    CreateContact,
    DefineCustomField,
    EraseContact,
    MergeContacts,
    UpdateContact,
)
from crm_contacts.application.handlers import ContactHandlers
from crm_contacts.application.queries import ContactQueries
from crm_contacts.domain.contact import ContactDetails
from crm_contacts.domain.custom_fields import FieldDefinition
from crm_contacts.domain.duplicates import LikelyDuplicate
from crm_contacts.entrypoints import export
from crm_contacts.entrypoints.schemas import (
    ArchiveRequest,
    ConsentChange,
    ConsentEntry,
    Consents,
    ContactCreate,
    ContactCreatedRead,
    ContactPage,
    ContactRead,
    ContactUpdate,
    CustomFieldDefinition,
    CustomFieldRead,
    DataKeyRead,
    ErasureRequest,
    HistoryEntry,
    LikelyDuplicateRead,
    MergeRequest,
)
from crm_shared.contracts.contacts import ConsentChannel
from crm_shared.http.direct_routes import DirectRoute
from crm_shared.http.requests import Expected, Who, etag, stale_as_412


def read_body(
    contact_id: str,
    version: int,
    details: dict[str, Any],
    archived: bool,
    created_at: datetime | None = None,
    updated_at: datetime | None = None,
) -> ContactRead:
    return ContactRead(
        id=contact_id,
        version=version,
        archived=archived,
        first_name=details.get("first_name"),
        last_name=details.get("last_name"),
        emails=details.get("emails", []),
        phones=details.get("phones", []),
        lifecycle_stage=details["lifecycle_stage"],
        owner_id=details.get("owner_id"),
        tags=details.get("tags", []),
        source=details.get("source"),
        addresses=details.get("addresses", []),
        consents=details.get("consents", {}),
        merged_into=details.get("merged_into"),
        erased=details.get("erased", False),
        custom_fields=details.get("custom_fields", {}),
        created_at=created_at,
        updated_at=updated_at,
    )


def duplicate_body(duplicate: LikelyDuplicate) -> LikelyDuplicateRead:
    return LikelyDuplicateRead(
        id=duplicate.contact_id, score=duplicate.score, reasons=list(duplicate.reasons)
    )


def from_row(row: ContactRow) -> ContactRead:
    return read_body(
        row.contact_id, row.version, row.details, row.archived, row.created_at, row.updated_at
    )


def read_answer(found: ContactRead, version: int) -> Response:
    """A contact as read, its body written once (see ``created_answer``)."""
    return Response(found.model_dump_json(), 200, {"ETag": etag(version)}, "application/json")


def created_answer(made: ContactCreatedRead, version: int, status_code: int) -> Response:
    """The answer to a create, its body written once: returned as a model, FastAPI would
    dump it, check the dump against the response model and dump that again."""
    headers = {"ETag": etag(version), "Location": f"/contacts/{made.id}"}
    return Response(made.model_dump_json(), status_code, headers, "application/json")


def custom_fields_router(handlers: ContactHandlers, queries: ContactQueries) -> APIRouter:
    router = APIRouter(prefix="/custom-fields", tags=["custom fields"])

    @router.put("/{name}", response_model=CustomFieldRead)
    async def define_custom_field(
        name: str, body: CustomFieldDefinition, who: Who
    ) -> CustomFieldRead:
        """Define a custom field for contacts, or change its label, choices or requiredness.

        Its type never changes and choices are only added, so stored values stay valid.
        """
        command = DefineCustomField(
            who, name, body.label, body.field_type, body.choices, body.required
        )
        return field_body(await handlers.define_field(command))

    @router.get("", response_model=list[CustomFieldRead])
    async def list_custom_fields(who: Who) -> list[CustomFieldRead]:
        return [field_body(d) for d in await queries.custom_fields(who.tenant_id)]

    return router


def field_body(definition: FieldDefinition) -> CustomFieldRead:
    return CustomFieldRead(
        name=definition.name,
        label=definition.label,
        field_type=definition.field_type,
        choices=list(definition.choices),
        required=definition.required,
    )


def contacts_router(handlers: ContactHandlers, queries: ContactQueries) -> APIRouter:
    router = APIRouter(prefix="/contacts", tags=["contacts"], route_class=DirectRoute)

    async def write_then_read(
        who: Caller, contact_id: str, write: Awaitable[Any], response: Response
    ) -> ContactRead:
        """Run a write that expected a version; answer with the contact and its new ETag."""
        with stale_as_412():
            written = await write
        row = written.row or await queries.get(who.tenant_id, contact_id)
        response.headers["ETag"] = etag(row.version)
        return from_row(row)

    @router.post(
        "",
        status_code=status.HTTP_201_CREATED,
        response_model=ContactCreatedRead,
        responses={200: {"description": "Idempotency-Key seen before: the contact it made"}},
    )
    async def create_contact(
        body: ContactCreate,
        who: Who,
        idempotency_key: Annotated[
            str | None, Header(description="Retries with the same key create nothing new")
        ] = None,
    ) -> Response:
        """Create a contact; emails are lower-cased and checked, phones stored as E.164.

        The answer lists existing contacts that are probably the same person.
        """
        works_at = (body.works_at.account_id, body.works_at.role) if body.works_at else None
        details = ContactDetails(**body.model_dump(exclude={"works_at"}))
        try:
            created = await handlers.create(CreateContact(who, details, works_at, idempotency_key))
        except AlreadyCreated as replay:
            row = await queries.get(who.tenant_id, replay.resource_id)
            made = ContactCreatedRead(**from_row(row).model_dump())
            return created_answer(made, row.version, status.HTTP_200_OK)
        made = ContactCreatedRead(
            **read_body(
                created.contact_id, created.version, created.details, False, created.at, created.at
            ).model_dump(),
            likely_duplicates=[duplicate_body(d) for d in created.likely_duplicates],
        )
        return created_answer(made, created.version, status.HTTP_201_CREATED)

    @router.get("/{contact_id}/duplicates", response_model=list[LikelyDuplicateRead])
    async def contact_duplicates(contact_id: str, who: Who) -> list[LikelyDuplicateRead]:
        """Existing contacts that are probably the same person, best match first."""
        return [
            duplicate_body(d) for d in await queries.likely_duplicates(who.tenant_id, contact_id)
        ]

    @router.get(
        "/export",
        responses={200: {"content": {"text/csv": {}, "application/json": {}}}},
        response_class=StreamingResponse,
    )
    async def export_contacts(
        who: Who,
        format: Annotated[Literal["csv", "json"], Query(description="csv or json")] = "csv",
        stage: str | None = None,
        owner: str | None = None,
        tag: str | None = None,
        updated_since: datetime | None = None,
        include_archived: bool = False,
    ) -> StreamingResponse:
        """Every matching contact, streamed page by page: never all in memory."""
        where = ContactFilter(stage, owner, tag, updated_since, None, include_archived)
        rows = queries.each(who.tenant_id, where)
        if format == "json":
            return StreamingResponse(export.json_lines(rows), media_type="application/json")
        return StreamingResponse(
            export.csv_lines(rows),
            media_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="contacts.csv"'},
        )

    @router.get("/{contact_id}", response_model=ContactRead)
    async def get_contact(
        contact_id: str,
        who: Who,
        as_of: Annotated[datetime | None, Query(description="The contact as it was then")] = None,
    ) -> Response:
        if as_of is not None:
            past = await queries.as_of(who.tenant_id, contact_id, as_of)
            body = read_body(past.contact_id, past.version, past.details, past.archived)
            return read_answer(body, past.version)
        row = await queries.get(who.tenant_id, contact_id)
        return read_answer(from_row(row), row.version)

    @router.patch(
        "/{contact_id}",
        response_model=ContactRead,
        responses={412: {"description": "Stale If-Match"}, 428: {}},
    )
    async def update_contact(
        contact_id: str, body: ContactUpdate, who: Who, version: Expected, response: Response
    ) -> ContactRead:
        """Change the fields given; requires ``If-Match`` with the ETag last read."""
        changes = body.model_dump(exclude_unset=True)
        command = UpdateContact(who, contact_id, version, changes)
        return await write_then_read(who, contact_id, handlers.update(command), response)

    @router.post("/{contact_id}/archive", response_model=ContactRead)
    async def archive_contact(
        contact_id: str, body: ArchiveRequest, who: Who, version: Expected, response: Response
    ) -> ContactRead:
        command = ArchiveContact(who, contact_id, version, body.reason)
        return await write_then_read(who, contact_id, handlers.archive(command), response)

    @router.put(
        "/{contact_id}/consents/{channel}",
        response_model=ContactRead,
        responses={412: {"description": "Stale If-Match"}},
    )
    async def change_consent(
        contact_id: str,
        channel: ConsentChannel,
        body: ConsentChange,
        who: Who,
        version: Expected,
        response: Response,
    ) -> ContactRead:
        """Grant or withdraw consent for a channel, with its lawful basis and source."""
        command = ChangeConsent(
            who, contact_id, version, channel, body.status, body.lawful_basis, body.source
        )
        return await write_then_read(who, contact_id, handlers.change_consent(command), response)

    @router.post(
        "/{contact_id}/merge",
        response_model=ContactRead,
        responses={412: {"description": "Stale If-Match or duplicate_version"}},
    )
    async def merge_contacts(
        contact_id: str, body: MergeRequest, who: Who, version: Expected, response: Response
    ) -> ContactRead:
        """Merge another contact into this one (the survivor; ``If-Match`` is its ETag).

        The survivor keeps its values, takes the ones it lacks, unites emails, phones and
        tags; the merged contact is archived and points at the survivor. The history of both
        shows the merge and which values won.
        """
        command = MergeContacts(who, contact_id, version, body.duplicate_id, body.duplicate_version)
        return await write_then_read(who, contact_id, handlers.merge(command), response)

    @router.get("/{contact_id}/consents", response_model=Consents)
    async def contact_consents(contact_id: str, who: Who) -> Consents:
        """The consent in force per channel, and every change ever made."""
        history = [
            ConsentEntry(
                channel=r.channel,
                status=r.status,
                lawful_basis=r.lawful_basis,
                source=r.source,
                actor=r.actor,
                at=r.at,
            )
            for r in await queries.consents(who.tenant_id, contact_id)
        ]
        return Consents(current={entry.channel: entry for entry in history}, history=history)

    @router.get("", response_model=ContactPage)
    async def list_contacts(  # ?custom.<field>=<value> filters on custom fields
        request: Request,
        who: Who,
        stage: Annotated[str | None, Query(description="Lifecycle stage")] = None,
        owner: str | None = None,
        tag: str | None = None,
        updated_since: datetime | None = None,
        q: Annotated[str | None, Query(min_length=2, description="Name, email or phone")] = None,
        include_archived: bool = False,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        cursor: str | None = None,
    ) -> ContactPage:
        custom = tuple(
            (key.removeprefix("custom."), value)
            for key, value in request.query_params.items()
            if key.startswith("custom.")
        )
        where = ContactFilter(stage, owner, tag, updated_since, q, include_archived, custom)
        rows, next_cursor = await queries.page(who.tenant_id, where, limit, cursor)
        return ContactPage(items=[from_row(r) for r in rows], next_cursor=next_cursor)

    @router.post("/{contact_id}/erase", response_model=ContactRead)
    async def erase_contact(
        contact_id: str, body: ErasureRequest, who: Who, response: Response
    ) -> ContactRead:
        """Erase the person (right to be forgotten): their data key is destroyed.

        From then on no API, read model or re-read of ``crm.contacts.events`` reveals their
        personal data; stage, owner, tags, consents and dates stay. Contacts merged into this
        one are the same person and are erased with it. Repeating the request changes nothing.
        """
        command = EraseContact(who, contact_id, body.reason)
        return await write_then_read(who, contact_id, handlers.erase(command), response)

    @router.get(
        "/{contact_id}/personal-data",
        responses={200: {"content": {"application/json": {}}}},
    )
    async def access_request(contact_id: str, who: Who) -> JSONResponse:
        """Everything this service holds about the person, machine-readable (an access request):
        the record, every consent change and the full history of changes."""
        document = await queries.personal_data(who.tenant_id, contact_id)
        return JSONResponse(
            document,
            headers={
                "Content-Disposition": f'attachment; filename="personal-data-{contact_id}.json"'
            },
        )

    @router.get("/{contact_id}/history", response_model=list[HistoryEntry])
    async def contact_history(contact_id: str, who: Who) -> list[HistoryEntry]:
        """Every change: who, when, which fields, old and new values."""
        return [
            HistoryEntry(
                version=c.version,
                event_type=c.event_type,
                actor=c.actor,
                at=c.at,
                changes=c.changes,
            )
            for c in await queries.history(who.tenant_id, contact_id)
        ]

    return router


def privacy_router(queries: ContactQueries) -> APIRouter:
    router = APIRouter(prefix="/privacy", tags=["privacy"])

    @router.get(
        "/keys/{contact_id}",
        response_model=DataKeyRead,
        responses={410: {"description": "The contact was erased: its key is destroyed"}},
    )
    async def data_key(contact_id: str, who: Who) -> DataKeyRead:
        """The contact's data key: subscribers open the sealed personal values of its events
        with it (``crm_shared.privacy.unseal``). Do not store it: after erasure this answers
        410 and the sealed values stay unreadable everywhere."""
        found = await queries.data_key(who.tenant_id, contact_id)
        return DataKeyRead(subject_id=found.subject_id, key=base64.b64encode(found.key).decode())

    return router
