"""Email in: a message to a support mailbox opens a case, or joins the thread of the case it
replies to (by the ``[#number]`` in its subject or the Message-ID it answers). The same message
delivered twice is taken once (its Message-ID)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from crm_shared.caller import Caller
from crm_shared.errors import PlatformError
from crm_shared.eventstore import EventStore
from crm_support.adapters import read_model as rm
from crm_support.application.cases import CaseHandlers, Decision, Moment
from crm_support.domain.case import Case
from crm_support.domain.inbound_email import InboundMessage, parse_email


class UnknownMailbox(PlatformError):
    status_code = 404
    code = "unknown_mailbox"


@dataclass(frozen=True)
class Received:
    case_id: str
    new_case: bool
    duplicate: bool = False


class InboundMail:
    def __init__(self, store: EventStore, cases: CaseHandlers) -> None:
        self.store = store
        self.cases = cases

    async def is_mailbox(self, address: str) -> bool:
        async with self.store.engine.connect() as connection:
            found = await rm.mailbox(connection, self.store.schema, [address.strip().lower()])
        return found is not None

    async def receive(self, raw: bytes, envelope_recipients: list[str] | None = None) -> Received:
        message = parse_email(raw, envelope_recipients)
        schema = self.store.schema
        async with self.store.unit_of_work() as uow:
            box = await rm.mailbox(uow.connection, schema, list(message.recipients))
            if box is None:
                raise UnknownMailbox(f"no support mailbox among {', '.join(message.recipients)}")
            tenant = box["tenant_id"]
            if await rm.message_seen(uow.connection, schema, tenant, message.message_id):
                case_id = await rm.case_id_by_message(
                    uow.connection, schema, tenant, (message.message_id or "",)
                )
                return Received(case_id or "", new_case=False, duplicate=True)
            caller = Caller(tenant, f"email:{message.sender}", str(uuid.uuid4()))
            case_id = await self._thread_of(uow.connection, tenant, message)
            if case_id is not None:
                row = await rm.get_case(uow.connection, schema, tenant, case_id)
                if row is not None and row["status"] != "closed":
                    await self.cases.change_in(uow, caller, case_id, None, _reply(message))
                    return Received(case_id, new_case=False)
            case_id = str(uuid.uuid4())
            await self.cases.open_in(
                uow,
                caller,
                case_id,
                {
                    "subject": message.subject,
                    "description": message.body,
                    "channel": "email",
                    "requester_email": message.sender,
                    "queue_id": box["queue_id"],
                    "priority": box["priority"],
                    "category": box["category"],
                },
            )
            await self.cases.change_in(uow, caller, case_id, None, _reply(message))
            return Received(case_id, new_case=True)

    async def _thread_of(
        self, connection: AsyncConnection, tenant: str, message: InboundMessage
    ) -> str | None:
        schema = self.store.schema
        if message.case_number is not None:
            found = await rm.case_id_by_number(connection, schema, tenant, message.case_number)
            if found:
                return found
        return await rm.case_id_by_message(connection, schema, tenant, message.replies_to)


def _reply(message: InboundMessage) -> Decision:
    def decide(case: Case, moment: Moment) -> None:
        case.add_interaction(
            str(uuid.uuid4()),
            {
                "body": message.body,
                "visibility": "public",
                "author": "customer",
                "author_id": message.sender,
                "channel": "email",
                "message_id": message.message_id,
                "attachments": [a.model_dump() for a in message.attachments],
            },
            moment.calendar,
            moment.now,
            moment.reopen_window,
        )

    return decide
