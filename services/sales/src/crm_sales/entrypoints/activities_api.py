"""Tasks, calls and meetings over HTTP; calendars per user or team, and their iCalendar feeds."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import APIRouter, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from crm_sales.adapters import activities_read_model as activities
from crm_sales.adapters import read_model
from crm_sales.application.activities import ActivityHandlers
from crm_sales.domain.activity import Activity
from crm_sales.entrypoints.calendar_feed import ics
from crm_shared.errors import InvalidValue, NotFound
from crm_shared.eventstore import EventStore
from crm_shared.http.requests import Expected, Who, etag, stale_as_412

STALE: dict[int | str, dict[str, Any]] = {
    412: {"description": "Stale If-Match"},
    428: {"description": "If-Match missing"},
}


class RelatedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contact_id: str | None = None
    account_id: str | None = None
    lead_id: str | None = None
    opportunity_id: str | None = None


class TaskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    owner_id: str
    related: RelatedIn
    subject: str
    notes: str | None = None
    due_at: datetime = Field(description="With its offset, e.g. 2026-12-01T17:00:00+01:00")
    reminder_at: datetime | None = None


class CallIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    owner_id: str
    related: RelatedIn
    subject: str
    notes: str | None = None
    at: datetime
    duration_minutes: int = Field(ge=0, le=24 * 60)
    direction: Literal["inbound", "outbound"] = "outbound"
    outcome: Literal["connected", "voicemail", "no_answer", "busy", "wrong_number"] = "connected"


class MeetingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    owner_id: str
    attendees: list[str] = Field(default_factory=list, description="Other users taking part")
    related: RelatedIn
    subject: str
    notes: str | None = None
    location: str | None = None
    starts_at: datetime
    ends_at: datetime
    time_zone: str = Field(description="IANA zone it is planned in, e.g. Europe/Paris")


class ActivityRead(BaseModel):
    id: str
    version: int
    kind: str
    status: str
    owner_id: str
    attendees: list[str]
    related: dict[str, Any]
    subject: str | None
    notes: str | None
    location: str | None
    starts_at: datetime = Field(description="Due time (tasks), start (meetings, calls)")
    ends_at: datetime | None
    time_zone: str | None
    reminder_at: datetime | None
    overdue: bool
    erased: bool


class FeedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user_id: str | None = None
    team_id: str | None = None


def activity_body(row: dict[str, Any], zone: ZoneInfo | None = None) -> ActivityRead:
    def shown(value: datetime | None) -> datetime | None:
        return value.astimezone(zone) if value is not None and zone is not None else value

    details = row["details"]
    return ActivityRead(
        id=row["activity_id"],
        version=row["version"],
        kind=row["kind"],
        status=row["status"],
        owner_id=row["owner_id"],
        attendees=row["attendees"],
        related={k: v for k, v in details["related"].items() if v},
        subject=details.get("subject"),
        notes=details.get("notes"),
        location=details.get("location"),
        starts_at=shown(row["starts_at"]),
        ends_at=shown(row["ends_at"]),
        time_zone=row["time_zone"],
        reminder_at=shown(row["reminder_at"]),
        overdue=row["overdue"],
        erased=row["erased"],
    )


def activities_router(handlers: ActivityHandlers, store: EventStore) -> APIRouter:
    router = APIRouter(tags=["activities"])

    async def read(tenant_id: str, activity_id: str) -> dict[str, Any]:
        async with store.engine.connect() as connection:
            row = await activities.get_activity(connection, store.schema, tenant_id, activity_id)
        if row is None:
            raise NotFound(f"no activity {activity_id}")
        return row

    async def created(
        who: Any, create: Any, details: dict[str, Any], response: Response
    ) -> ActivityRead:
        written = await handlers.create(who, create, details)
        row = await read(who.tenant_id, written.entity_id)
        response.headers["ETag"] = etag(row["version"])
        response.headers["Location"] = f"/activities/{written.entity_id}"
        return activity_body(row)

    async def changed(
        who: Any, activity_id: str, version: int, decide: Any, response: Response
    ) -> ActivityRead:
        with stale_as_412():
            await handlers.change(who, activity_id, version, decide)
        row = await read(who.tenant_id, activity_id)
        response.headers["ETag"] = etag(row["version"])
        return activity_body(row)

    @router.post("/tasks", status_code=status.HTTP_201_CREATED, response_model=ActivityRead)
    async def create_task(body: TaskIn, who: Who, response: Response) -> ActivityRead:
        """A task with its due time and an optional reminder; both produce events when due."""
        return await created(who, Activity.create_task, body.model_dump(), response)

    @router.post("/tasks/{activity_id}/complete", response_model=ActivityRead, responses=STALE)
    async def complete_task(
        activity_id: str, who: Who, version: Expected, response: Response
    ) -> ActivityRead:
        return await changed(who, activity_id, version, Activity.complete, response)

    @router.post("/calls", status_code=status.HTTP_201_CREATED, response_model=ActivityRead)
    async def log_call(body: CallIn, who: Who, response: Response) -> ActivityRead:
        return await created(who, Activity.log_call, body.model_dump(), response)

    @router.post("/meetings", status_code=status.HTTP_201_CREATED, response_model=ActivityRead)
    async def schedule_meeting(body: MeetingIn, who: Who, response: Response) -> ActivityRead:
        return await created(who, Activity.schedule_meeting, body.model_dump(), response)

    @router.post("/meetings/{activity_id}/cancel", response_model=ActivityRead, responses=STALE)
    async def cancel_meeting(
        activity_id: str, who: Who, version: Expected, response: Response
    ) -> ActivityRead:
        return await changed(who, activity_id, version, Activity.cancel, response)

    @router.get("/activities/{activity_id}", response_model=ActivityRead)
    async def get_activity(activity_id: str, who: Who, response: Response) -> ActivityRead:
        row = await read(who.tenant_id, activity_id)
        response.headers["ETag"] = etag(row["version"])
        return activity_body(row)

    async def members(tenant_id: str, user_id: str | None, team_id: str | None) -> list[str]:
        if bool(user_id) == bool(team_id):
            raise InvalidValue("user_id", "give a user_id or a team_id")
        if user_id:
            return [user_id]
        async with store.engine.connect() as connection:
            teams = await read_model.teams(connection, store.schema, tenant_id)
        for team in teams:
            if team.team_id == team_id:
                return team.members
        raise NotFound(f"no team {team_id}")

    @router.get("/calendar", response_model=list[ActivityRead])
    async def calendar(
        who: Who,
        start: datetime,
        end: datetime,
        user_id: str | None = None,
        team_id: str | None = None,
        tz: Annotated[str, Query(description="IANA zone to show times in")] = "UTC",
    ) -> list[ActivityRead]:
        """Meetings, tasks and calls of a user or a team between ``start`` and ``end``, times
        shown in ``tz``."""
        try:
            zone = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise InvalidValue("tz", f"{tz!r} is not an IANA time zone") from None
        for name, value in (("start", start), ("end", end)):
            if value.tzinfo is None:
                raise InvalidValue(name, "give a time zone offset")
        if end <= start:
            raise InvalidValue("end", "must be after start")
        users = await members(who.tenant_id, user_id, team_id)
        async with store.engine.connect() as connection:
            rows = await activities.calendar(
                connection, store.schema, who.tenant_id, users, start, end
            )
        return [activity_body(row, zone) for row in rows]

    @router.post("/calendar-feeds", status_code=status.HTTP_201_CREATED)
    async def create_feed(body: FeedIn, who: Who) -> dict[str, str]:
        """A secret URL a calendar client subscribes to (it cannot send our headers); keep it
        like a password. Only its hash is stored."""
        await members(who.tenant_id, body.user_id, body.team_id)
        token = secrets.token_urlsafe(32)
        async with store.unit_of_work() as uow:
            await activities.save_feed(
                uow.connection,
                store.schema,
                hashlib.sha256(token.encode()).hexdigest(),
                who.tenant_id,
                body.user_id,
                body.team_id,
            )
        return {"url": f"/public/calendars/{token}.ics"}

    @router.get(
        "/public/calendars/{token}.ics",
        responses={200: {"content": {"text/calendar": {}}}},
        response_class=Response,
    )
    async def calendar_feed(token: str) -> Response:
        """The iCalendar feed: the last 90 days and the next 365."""
        async with store.engine.connect() as connection:
            found = await activities.feed(
                connection, store.schema, hashlib.sha256(token.encode()).hexdigest()
            )
        if found is None:
            raise NotFound("no such calendar")
        tenant_id, user_id, team_id = found
        users = await members(tenant_id, user_id, team_id)
        now = datetime.now(ZoneInfo("UTC"))
        async with store.engine.connect() as connection:
            rows = await activities.calendar(
                connection,
                store.schema,
                tenant_id,
                users,
                now - timedelta(days=90),
                now + timedelta(days=365),
            )
        return Response(
            ics(rows, f"CRM: {user_id or team_id}"), media_type="text/calendar; charset=utf-8"
        )

    return router
