"""The support HTTP API: cases and their thread, queues, the SLA policy, mailboxes, the
knowledge base."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status

from crm_shared import pagination
from crm_shared.contracts.support import REGISTRY, CaseOpened, CaseStatus, Priority
from crm_shared.errors import NotFound
from crm_shared.eventstore import EventStore
from crm_shared.http.requests import Caller, Expected, Who, etag, stale_as_412
from crm_support.adapters import read_model as rm
from crm_support.application.cases import CaseHandlers, Moment, Written
from crm_support.application.definitions import DefinitionHandlers
from crm_support.domain.case import Case
from crm_support.entrypoints.schemas import (
    ArticleIn,
    ArticleRead,
    AssignIn,
    CaseIn,
    CasePage,
    CaseRead,
    HistoryEntry,
    MailboxIn,
    MessageIn,
    MessageRead,
    PolicyIn,
    PolicyRead,
    PriorityIn,
    QueueIn,
    QueueRead,
    StatusIn,
)

STALE: dict[int | str, dict[str, Any]] = {
    412: {"description": "Stale If-Match"},
    428: {"description": "If-Match missing"},
}
CASE_FIELDS = set(CaseRead.model_fields) - {"id", "version", "status", "erased", "sla"}


def case_body(row: dict[str, Any]) -> CaseRead:
    details = row["details"]
    return CaseRead(
        id=row["case_id"],
        number=row["number"],
        version=row["version"],
        status=row["status"],
        erased=row["erased"],
        sla=details.get("clocks", []),
        **{
            name: row[name] if name in ("created_at", "updated_at") else details.get(name)
            for name in CASE_FIELDS
            if name != "number"
        },
    )


def cases_router(cases: CaseHandlers, store: EventStore) -> APIRouter:
    router = APIRouter(prefix="/cases", tags=["cases"])

    async def read(tenant_id: str, case_id: str) -> dict[str, Any]:
        async with store.engine.connect() as connection:
            row = await rm.get_case(connection, store.schema, tenant_id, case_id)
        if row is None:
            raise NotFound(f"no case {case_id}")
        return row

    async def answered(who: Caller, write: Awaitable[Written], response: Response) -> CaseRead:
        with stale_as_412():
            written = await write
        row = await read(who.tenant_id, written.entity_id)
        response.headers["ETag"] = etag(row["version"])
        return case_body(row)

    @router.post("", status_code=status.HTTP_201_CREATED, response_model=CaseRead)
    async def open_case(body: CaseIn, who: Who, response: Response) -> CaseRead:
        """Open a case; with a queue, its strategy assigns a member who has the skill; the
        tenant's SLA policy (by priority and tier) starts its clocks."""
        answer = await answered(who, cases.open_case(who, body.model_dump()), response)
        response.headers["Location"] = f"/cases/{answer.id}"
        return answer

    @router.get("/{case_id}", response_model=CaseRead)
    async def get_case(case_id: str, who: Who, response: Response) -> CaseRead:
        row = await read(who.tenant_id, case_id)
        response.headers["ETag"] = etag(row["version"])
        return case_body(row)

    @router.get("", response_model=CasePage)
    async def list_cases(
        who: Who,
        status: CaseStatus | None = None,
        priority: Priority | None = None,
        queue_id: str | None = None,
        assignee_id: str | None = None,
        contact_id: str | None = None,
        account_id: str | None = None,
        breached: Annotated[bool, Query(description="Only cases with a breached SLA")] = False,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        cursor: str | None = None,
    ) -> CasePage:
        after = pagination.decode_cursor(cursor) if cursor else None
        filters = {
            "status": status,
            "priority": priority,
            "queue_id": queue_id,
            "assignee_id": assignee_id,
            "contact_id": contact_id,
            "account_id": account_id,
            "breached": breached,
        }
        async with store.engine.connect() as connection:
            rows = await rm.page_cases(
                connection, store.schema, who.tenant_id, filters, limit + 1, after
            )
        more = len(rows) > limit
        rows = rows[:limit]
        next_cursor = (
            pagination.encode_cursor(rows[-1]["updated_at"], rows[-1]["case_id"]) if more else None
        )
        return CasePage(items=[case_body(r) for r in rows], next_cursor=next_cursor)

    @router.post("/{case_id}/status", response_model=CaseRead, responses=STALE)
    async def change_status(
        case_id: str, body: StatusIn, who: Who, version: Expected, response: Response
    ) -> CaseRead:
        """Move the case along its life cycle (409 when the move is not allowed: a closed
        case, or reopening after the window)."""

        def decide(case: Case, moment: Moment) -> None:
            case.change_status(
                body.status, moment.calendar, moment.now, moment.reopen_window, body.reason
            )

        return await answered(who, cases.change(who, case_id, version, decide), response)

    @router.post("/{case_id}/priority", response_model=CaseRead, responses=STALE)
    async def change_priority(
        case_id: str, body: PriorityIn, who: Who, version: Expected, response: Response
    ) -> CaseRead:
        """A new priority brings the SLA terms of that priority; time used so far counts."""

        def decide(case: Case, moment: Moment) -> None:
            terms = moment.terms(body.priority, case.state["tier"])
            case.change_priority(body.priority, terms, moment.calendar, moment.now, "manual")

        return await answered(who, cases.change(who, case_id, version, decide), response)

    @router.post("/{case_id}/assign", response_model=CaseRead, responses=STALE)
    async def assign(
        case_id: str, body: AssignIn, who: Who, version: Expected, response: Response
    ) -> CaseRead:
        write = cases.reassign(who, case_id, version, body.queue_id, body.assignee_id, body.skill)
        return await answered(who, write, response)

    @router.post(
        "/{case_id}/messages", status_code=status.HTTP_201_CREATED, response_model=MessageRead
    )
    async def add_message(case_id: str, body: MessageIn, who: Who) -> MessageRead:
        """A public reply or an internal note; an agent's first public reply is the first
        response (its SLA clock is met), a customer's reply reopens a pending case."""
        message = body.model_dump(mode="json", exclude_none=True) | {"author_id": who.actor}
        _, interaction_id = await cases.add_message(who, case_id, message)
        async with store.engine.connect() as connection:
            thread = await rm.thread(connection, store.schema, who.tenant_id, case_id, True)
        return next(message_body(m) for m in thread if m["interaction_id"] == interaction_id)

    @router.get("/{case_id}/messages", response_model=list[MessageRead])
    async def thread(case_id: str, who: Who, include_internal: bool = True) -> list[MessageRead]:
        await read(who.tenant_id, case_id)
        async with store.engine.connect() as connection:
            rows = await rm.thread(
                connection, store.schema, who.tenant_id, case_id, include_internal
            )
        return [message_body(r) for r in rows]

    @router.get("/{case_id}/history", response_model=list[HistoryEntry])
    async def history(case_id: str, who: Who) -> list[HistoryEntry]:
        """Every change of the case, who made it and when (reassignments included)."""
        events = await store.read_stream(case_id)
        if (
            not events
            or events[0].metadata.tenant_id != who.tenant_id
            or events[0].event_type != CaseOpened.event_type
        ):
            raise NotFound(f"no case {case_id}")
        return [
            HistoryEntry(
                version=e.stream_version,
                at=e.occurred_at,
                actor=e.metadata.actor,
                type=e.event_type,
                data={k: v for k, v in e.data.items() if k not in ("personal", "case_id")},
            )
            for e in events
            if (e.event_type, e.schema_version) in REGISTRY
        ]

    return router


def message_body(row: dict[str, Any]) -> MessageRead:
    return MessageRead(
        id=row["interaction_id"], **{k: v for k, v in row.items() if k != "interaction_id"}
    )


def setup_router(definitions: DefinitionHandlers, store: EventStore) -> APIRouter:
    router = APIRouter(tags=["setup"])

    @router.put("/queues/{queue_id}", response_model=QueueRead)
    async def define_queue(queue_id: str, body: QueueIn, who: Who) -> QueueRead:
        """A queue with its members and their skills, and how it assigns (round robin or
        least load)."""
        written = await definitions.define_queue(
            who,
            queue_id,
            body.name,
            body.strategy,
            body.required_skill,
            [m.model_dump() for m in body.members],
        )
        async with store.engine.connect() as connection:
            queue, version = (await rm.queues(connection, store.schema, who.tenant_id))[
                written.entity_id
            ]
        return QueueRead(
            id=queue_id, version=version, **queue.model_dump(exclude={"tenant_id", "queue_id"})
        )

    @router.get("/queues", response_model=list[QueueRead])
    async def list_queues(who: Who) -> list[QueueRead]:
        async with store.engine.connect() as connection:
            known = await rm.queues(connection, store.schema, who.tenant_id)
        return [
            QueueRead(id=q.queue_id, version=v, **q.model_dump(exclude={"tenant_id", "queue_id"}))
            for q, v in known.values()
        ]

    @router.put("/sla-policy", response_model=PolicyRead)
    async def define_policy(body: PolicyIn, who: Who) -> PolicyRead:
        """The business calendar (working hours per weekday in a time zone, holidays) and
        the targets per priority and tier. New cases take it; open ones keep their terms
        until their priority changes."""
        await definitions.define_policy(who, body.model_dump())
        return await get_policy(who)

    @router.get("/sla-policy", response_model=PolicyRead)
    async def get_policy(who: Who) -> PolicyRead:
        async with store.engine.connect() as connection:
            policy, version = await rm.policy(connection, store.schema, who.tenant_id)
        if policy is None:
            raise NotFound("no SLA policy: cases have no SLA clocks")
        return PolicyRead(version=version, **policy.model_dump(exclude={"tenant_id"}))

    @router.put("/mailboxes/{address}", status_code=status.HTTP_204_NO_CONTENT)
    async def define_mailbox(address: str, body: MailboxIn, who: Who) -> None:
        """Mail to this address (SMTP or the webhook) opens cases in the queue given."""
        await definitions.define_mailbox(who, address, body.model_dump())

    @router.put("/articles/{article_id}", response_model=ArticleRead)
    async def publish_article(article_id: str, body: ArticleIn, who: Who) -> ArticleRead:
        """Publish an article, or a new version of it."""
        await definitions.publish_article(who, article_id, body.title, body.body, body.tags)
        return await get_article(article_id, who)

    @router.get("/articles/{article_id}", response_model=ArticleRead)
    async def get_article(article_id: str, who: Who) -> ArticleRead:
        async with store.engine.connect() as connection:
            row = await rm.get_article(connection, store.schema, who.tenant_id, article_id)
        if row is None:
            raise NotFound(f"no article {article_id}")
        return ArticleRead(id=row.pop("article_id"), **row)

    @router.get("/articles", response_model=list[ArticleRead])
    async def search_articles(
        who: Who,
        q: Annotated[str, Query(min_length=2, description="Words, phrases in quotes, -not")],
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
    ) -> list[ArticleRead]:
        """Full-text search over titles (weighed more) and bodies, best first."""
        async with store.engine.connect() as connection:
            rows = await rm.search_articles(connection, store.schema, who.tenant_id, q, limit)
        return [
            ArticleRead(
                id=r["article_id"],
                **{k: v for k, v in r.items() if k not in ("article_id", "rank")},
            )
            for r in rows
        ]

    @router.put("/articles/{article_id}/cases/{case_id}", status_code=status.HTTP_204_NO_CONTENT)
    async def link_article(article_id: str, case_id: str, who: Who) -> None:
        """The article solved the case."""
        await definitions.link_article(who, article_id, case_id)

    @router.get("/articles/{article_id}/cases", response_model=list[str])
    async def cases_of_article(article_id: str, who: Who) -> list[str]:
        async with store.engine.connect() as connection:
            return await rm.cases_of_article(connection, store.schema, who.tenant_id, article_id)

    return router
