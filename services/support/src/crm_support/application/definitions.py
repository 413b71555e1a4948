"""What a tenant sets up: queues with their members and skills, the SLA policy with its
business calendar, the support mailboxes, and the knowledge base."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from crm_shared.caller import Caller
from crm_shared.contracts.support import ArticleLinked, ArticlePublished, SlaPolicyDefined
from crm_shared.errors import NotFound
from crm_shared.eventstore import EventStore
from crm_shared.values import normalise_email
from crm_support.adapters import read_model as rm
from crm_support.application.cases import Written, append, decoded
from crm_support.domain.assignment import define_queue
from crm_support.domain.case import PRIORITIES
from crm_support.domain.errors import InvalidValue
from crm_support.domain.knowledge import publish
from crm_support.domain.sla import check_policy


class DefinitionHandlers:
    def __init__(self, store: EventStore) -> None:
        self.store = store

    async def define_queue(
        self,
        caller: Caller,
        queue_id: str,
        name: str,
        strategy: str,
        required_skill: str | None,
        members: list[dict[str, Any]],
    ) -> Written:
        async with self.store.unit_of_work() as uow:
            known = await rm.queues(uow.connection, self.store.schema, caller.tenant_id)
            current, version = known.get(queue_id, (None, 0))
            event = define_queue(
                caller.tenant_id, queue_id, name, strategy, required_skill, members, current
            )
            if event is None:
                return Written(queue_id, version)
            stream = f"queue:{caller.tenant_id}:{queue_id}"
            await append(uow, caller, stream, version, [event], caller.tenant_id, _now())
            await rm.save_queue(uow.connection, self.store.schema, event, version + 1)
            return Written(queue_id, version + 1)

    async def define_policy(self, caller: Caller, definition: dict[str, Any]) -> Written:
        try:
            event = SlaPolicyDefined(tenant_id=caller.tenant_id, **definition)
        except ValidationError as error:
            first = error.errors()[0]
            raise InvalidValue(".".join(str(p) for p in first["loc"]), first["msg"]) from None
        check_policy(event)
        async with self.store.unit_of_work() as uow:
            current, version = await rm.policy(uow.connection, self.store.schema, caller.tenant_id)
            if current is not None and current.model_dump() == event.model_dump():
                return Written(caller.tenant_id, version)
            stream = f"sla-policy:{caller.tenant_id}"
            await append(uow, caller, stream, version, [event], caller.tenant_id, _now())
            await rm.save_policy(uow.connection, self.store.schema, event, version + 1)
            return Written(caller.tenant_id, version + 1)

    async def define_mailbox(self, caller: Caller, address: str, settings: dict[str, Any]) -> None:
        """Mail to ``address`` (by SMTP or the webhook) becomes this tenant's cases."""
        address = normalise_email(address)
        if (settings.get("priority") or "normal") not in PRIORITIES:
            raise InvalidValue("priority", f"one of {', '.join(PRIORITIES)}")
        async with self.store.unit_of_work() as uow:
            if settings.get("queue_id"):
                known = await rm.queues(uow.connection, self.store.schema, caller.tenant_id)
                if settings["queue_id"] not in known:
                    raise InvalidValue("queue_id", f"no queue {settings['queue_id']}")
            taken = await rm.mailbox(uow.connection, self.store.schema, [address])
            if taken is not None and taken["tenant_id"] != caller.tenant_id:
                raise InvalidValue("address", "another tenant receives mail at this address")
            await rm.save_mailbox(
                uow.connection, self.store.schema, caller.tenant_id, address, settings
            )

    async def publish_article(
        self, caller: Caller, article_id: str, title: str, body: str, tags: list[str]
    ) -> Written:
        stream = article_stream(caller.tenant_id, article_id)
        async with self.store.unit_of_work() as uow:
            history = await uow.read_stream(stream)
            published = [decoded(e) for e in history if e.event_type == ArticlePublished.event_type]
            current = published[-1] if published else None
            assert current is None or isinstance(current, ArticlePublished)
            event = publish(article_id, title, body, tags, current)
            if event is None:
                return Written(article_id, current.version if current else 0)
            now = _now()
            await append(uow, caller, stream, len(history), [event], article_id, now)
            await rm.save_article(uow.connection, self.store.schema, caller.tenant_id, event, now)
            return Written(article_id, event.version)

    async def link_article(self, caller: Caller, article_id: str, case_id: str) -> None:
        """The article solved the case; linking twice changes nothing."""
        async with self.store.unit_of_work() as uow:
            schema = self.store.schema
            if await rm.get_article(uow.connection, schema, caller.tenant_id, article_id) is None:
                raise NotFound(f"no article {article_id}")
            if await rm.get_case(uow.connection, schema, caller.tenant_id, case_id) is None:
                raise NotFound(f"no case {case_id}")
            if await rm.link_article(uow.connection, schema, caller.tenant_id, article_id, case_id):
                stream = article_stream(caller.tenant_id, article_id)
                history = await uow.read_stream(stream)
                event = ArticleLinked(article_id=article_id, case_id=case_id)
                await append(uow, caller, stream, len(history), [event], article_id, _now())


def article_stream(tenant_id: str, article_id: str) -> str:
    """Article ids are the tenant's own words ("reset-password"): two tenants may pick one."""
    return f"article:{tenant_id}:{article_id}"


def _now() -> datetime:
    return datetime.now(UTC)
