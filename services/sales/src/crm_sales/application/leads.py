"""Lead commands: capture (and route), assign, qualify, disqualify, erase; routing and forms."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from crm_sales.adapters import leads_read_model as leads
from crm_sales.adapters import read_model
from crm_sales.application.handlers import Written, append, decoded
from crm_sales.domain.errors import InvalidValue
from crm_sales.domain.lead import Lead
from crm_sales.domain.routing import define_routing, route
from crm_sales.domain.spam_guard import check_rate, check_timing, looks_like_a_bot
from crm_shared.caller import Caller
from crm_shared.contracts.sales import LeadCaptured
from crm_shared.errors import ConcurrencyConflict, NotFound
from crm_shared.eventstore import EventStore, UnitOfWork
from crm_shared.privacy import SubjectCipher
from crm_shared.privacy.keystore import SubjectKeyStore


class LeadHandlers:
    def __init__(
        self,
        store: EventStore,
        keys: SubjectKeyStore,
        default_region: str | None = None,
        new_id: Callable[[], str] = lambda: str(uuid.uuid4()),
    ) -> None:
        self.store = store
        self.keys = keys
        self.default_region = default_region
        self.new_id = new_id

    async def capture(self, caller: Caller, details: dict[str, Any], source: str) -> Written:
        """Capture a lead and hand it to its owner by the tenant's routing, atomically."""
        async with self.store.unit_of_work() as uow:
            lead_id = self.new_id()
            key = await self.keys.create(uow, caller.tenant_id, lead_id)
            lead = Lead.capture(
                lead_id, details, source, SubjectCipher(lead_id, key), self.default_region
            )
            schema = self.store.schema
            routing, _ = await leads.routing(uow.connection, schema, caller.tenant_id)
            where = route(routing, lead.state.get("country"), lead.state.get("region"))
            if where is not None:
                owner = where.owner_id or await leads.next_in_turn(
                    uow.connection, schema, caller.tenant_id, str(where.team_id)
                )
                if owner is not None:
                    rule = (
                        where.rule
                        if where.owner_id
                        else f"{where.rule}:round_robin:{where.team_id}"
                    )
                    lead.assign(owner, where.team_id, rule)
            return await self.save(uow, caller, lead, 0)

    async def change(
        self,
        caller: Caller,
        lead_id: str,
        expected_version: int,
        decide: Callable[[Lead], None],
    ) -> Written:
        async with self.store.unit_of_work() as uow:
            lead = await self.load(uow, caller, lead_id)
            if lead.version != expected_version:
                raise ConcurrencyConflict(lead_id, expected_version, lead.version)
            decide(lead)
            return await self.save(uow, caller, lead, expected_version)

    async def erase(self, caller: Caller, lead_id: str) -> Written:
        """Destroy the lead's key with the erasure event; repeatable."""
        async with self.store.unit_of_work() as uow:
            lead = await self.load(uow, caller, lead_id)
            version = lead.version
            if lead.erase():
                written = await self.save(uow, caller, lead, version)
                await self.keys.destroy(uow.connection, caller.tenant_id, lead_id)
                return written
            return Written(lead_id, version)

    async def define_routing(
        self,
        caller: Caller,
        rules: list[dict[str, Any]],
        default_team_id: str | None,
    ) -> Written:
        async with self.store.unit_of_work() as uow:
            schema = self.store.schema
            teams = await read_model.teams(uow.connection, schema, caller.tenant_id)
            event = define_routing(
                caller.tenant_id, rules, default_team_id, {t.team_id for t in teams}
            )
            _, version = await leads.routing(uow.connection, schema, caller.tenant_id)
            stream = f"lead-routing:{caller.tenant_id}"
            await append(uow, caller, stream, version, [event], caller.tenant_id)
            await leads.save_routing(uow.connection, schema, event, version + 1)
            return Written(caller.tenant_id, version + 1)

    async def define_web_form(self, caller: Caller, form_id: str, name: str, active: bool) -> None:
        if not name.strip():
            raise InvalidValue("name", "must not be empty")
        async with self.store.unit_of_work() as uow:
            await leads.save_web_form(
                uow.connection, self.store.schema, caller.tenant_id, form_id, name.strip(), active
            )

    async def capture_from_form(
        self,
        form_id: str,
        client: str,
        details: dict[str, Any],
        honeypot: str | None,
        rendered_at: datetime,
    ) -> Written | None:
        """A lead from a public web form, through the spam guard; None: dropped as a bot."""
        now = datetime.now(UTC)
        async with self.store.unit_of_work() as uow:
            schema = self.store.schema
            tenant = await leads.web_form_tenant(uow.connection, schema, form_id)
            if tenant is None:
                raise NotFound(f"no web form {form_id}")
            if looks_like_a_bot(honeypot):
                return None
            check_timing(rendered_at, now)
            recent = await leads.recent_submissions(
                uow.connection, schema, form_id, client, now - timedelta(minutes=1)
            )
        check_rate(recent)
        caller = Caller(tenant, f"web-form:{form_id}", str(uuid.uuid4()))
        return await self.capture(caller, details, f"web_form:{form_id}")

    async def load(self, uow: UnitOfWork, caller: Caller, lead_id: str) -> Lead:
        history = await uow.read_stream(lead_id)
        if (
            not history
            or history[0].metadata.tenant_id != caller.tenant_id
            or history[0].event_type != LeadCaptured.event_type
        ):
            raise NotFound(f"no lead {lead_id}")
        cipher = await self.keys.cipher(uow, lead_id)
        return Lead.from_history(lead_id, [decoded(e) for e in history], cipher)

    async def save(
        self, uow: UnitOfWork, caller: Caller, lead: Lead, expected_version: int
    ) -> Written:
        if not lead.pending:
            return Written(lead.lead_id, lead.version)
        now = datetime.now(UTC)
        events = lead.pending
        lead.version = expected_version + len(events)
        lead.pending = []
        await leads.save_lead(uow.connection, self.store.schema, caller.tenant_id, lead, now)
        # The events last, their position drawn just before the commit (see the relay's gaps).
        await append(uow, caller, lead.lead_id, expected_version, events, lead.lead_id, now)
        return Written(lead.lead_id, lead.version)
