"""Lead conversion: a saga across the sales and contacts services.

A qualified lead becomes an organisation (an account) and a person working there (a contact),
both in the contacts service, and an opportunity here. Each step is recorded on the lead's
stream as it takes effect, so a crash at any point resumes where it stopped:

1. ``LeadConversionStarted`` with the plan (what to make), in one local transaction;
2. create the account, with an idempotency key, then record ``LeadConversionStepDone``;
3. create the contact, working at the account, the same way;
4. open the opportunity (its id derived from the lead's) and record ``LeadConverted``, in one
   local transaction.

A retry after a crash between a remote call and its record sends the same idempotency key and
gets the same account or contact back, so nothing is made twice. When the contacts service is
unreachable the saga waits and tries again with a growing delay. When it refuses (the lead's
data breaks one of its rules) or the opportunity cannot be opened, what was made is archived
(compensated) and ``LeadConversionFailed`` puts the lead back to qualified.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

from crm_sales.adapters import conversions_table
from crm_sales.application.handlers import SalesHandlers, Written
from crm_sales.application.leads import LeadHandlers
from crm_sales.domain.lead import Lead
from crm_shared.caller import Caller
from crm_shared.contracts.sales import LeadConversionStarted
from crm_shared.errors import ConcurrencyConflict, NotFound, PlatformError
from crm_shared.eventstore import EventStore
from crm_shared.periodic import every, exclusive_turn

log = logging.getLogger(__name__)

CONVERSION_LOCK = 0x5A1E5C0  # one replica drives the waiting conversions at a time
OPPORTUNITY_IDS = uuid.UUID("0b7e9c56-8a8e-4d0c-9a55-2f1f4a3c7d21")
MAX_DELAY = timedelta(minutes=10)

Outcome = Literal["converted", "failed", "waiting", "not_converting"]


class ContactsUnavailable(Exception):
    """The contacts service could not answer now (network, timeout, 5xx, 429): try later."""


class ContactsRefused(Exception):
    """The contacts service refused the request for good (a 4xx): the saga is undone."""


class ContactsPort(Protocol):
    """What the saga needs of the contacts service. Creating calls carry an idempotency key:
    the same key always answers with the id the first call made."""

    async def create_account(
        self, caller: Caller, idempotency_key: str, account: dict[str, Any]
    ) -> str: ...

    async def create_contact(
        self, caller: Caller, idempotency_key: str, contact: dict[str, Any]
    ) -> str: ...

    async def archive_account(self, caller: Caller, account_id: str, reason: str) -> None: ...

    async def archive_contact(self, caller: Caller, contact_id: str, reason: str) -> None: ...


@dataclass(frozen=True)
class Conversion:
    """Where a lead's conversion stands, with the saga's retry bookkeeping."""

    lead_id: str
    status: str
    attempt: int
    plan: dict[str, Any] | None
    account_id: str | None
    contact_id: str | None
    opportunity_id: str | None
    failure: dict[str, Any] | None
    retries: int
    last_error: str | None
    next_attempt_at: datetime | None


def opportunity_id_for(lead_id: str, attempt: int) -> str:
    """The opportunity a conversion opens: the same id however many times the step runs."""
    return str(uuid.uuid5(OPPORTUNITY_IDS, f"{lead_id}:{attempt}"))


def idempotency_key(lead_id: str, attempt: int, step: str) -> str:
    return f"lead-conversion:{lead_id}:{attempt}:{step}"


def retry_delay(retries: int) -> timedelta:
    """5 s, 10 s, 20 s... up to ten minutes between two tries."""
    return min(timedelta(seconds=5 * 2 ** min(retries, 10)), MAX_DELAY)


class ConversionHandlers:
    def __init__(
        self,
        store: EventStore,
        leads: LeadHandlers,
        sales: SalesHandlers,
        contacts: ContactsPort | None,
    ) -> None:
        self.store = store
        self.leads = leads
        self.sales = sales
        self.contacts = contacts

    async def start(
        self, caller: Caller, lead_id: str, expected_version: int, plan: dict[str, Any]
    ) -> Written:
        """Record the plan; ``advance`` (or the runner) carries it out."""
        if self.contacts is None:
            raise ConversionUnavailable(
                "lead conversion needs the contacts service: set SALES_CONTACTS_URL"
            )
        async with self.store.unit_of_work() as uow:
            lead = await self.leads.load(uow, caller, lead_id)
            if lead.version != expected_version:
                raise ConcurrencyConflict(lead_id, expected_version, lead.version)
            lead.start_conversion(plan)
            await self.sales.pipeline(uow, caller, lead.state["conversion"]["plan"]["pipeline_id"])
            written = await self.leads.save(uow, caller, lead, expected_version)
            await conversions_table.forget(uow.connection, self.store.schema, lead_id)
            return written

    async def advance(self, tenant_id: str, lead_id: str) -> Outcome:
        """Carry the conversion as far as it goes now; safe to run twice at once."""
        assert self.contacts is not None
        for _ in range(8):  # each turn does one step, or loses a race and looks again
            lead, caller = await self._lead(tenant_id, lead_id)
            if lead.status != "converting":
                return "converted" if lead.status == "converted" else "not_converting"
            conversion = lead.state["conversion"]
            try:
                if "account" not in conversion:
                    account_id = await self.contacts.create_account(
                        caller, self._key(lead, "account"), account_of(conversion["plan"])
                    )
                    await self._step(caller, lead, "account", account_id)
                elif "contact" not in conversion:
                    contact_id = await self.contacts.create_contact(
                        caller,
                        self._key(lead, "contact"),
                        contact_of(lead, conversion["plan"], conversion["account"]),
                    )
                    await self._step(caller, lead, "contact", contact_id)
                else:
                    await self._finish(caller, lead)
                    await self._forget(lead_id)
                    return "converted"
            except ConcurrencyConflict:
                continue
            except ContactsUnavailable as error:
                await self._wait(tenant_id, lead_id, str(error))
                return "waiting"
            except (ContactsRefused, PlatformError) as error:
                return await self._undo(caller, lead, str(error))
        return "waiting"

    async def conversion(self, tenant_id: str, lead_id: str) -> Conversion:
        async with self.store.engine.connect() as connection:
            retry = await conversions_table.get(connection, self.store.schema, lead_id)
        lead, _ = await self._lead(tenant_id, lead_id)
        state: dict[str, Any] = lead.state.get("conversion") or {}
        if not state:
            raise NotFound(f"lead {lead_id} was never converted")
        return Conversion(
            lead_id=lead_id,
            status="failed" if lead.status == "qualified" else lead.status,
            attempt=int(state["attempt"]),
            plan=state.get("plan"),
            account_id=state.get("account"),
            contact_id=state.get("contact"),
            opportunity_id=state.get("opportunity"),
            failure=state.get("failed"),
            retries=retry.retries if retry else 0,
            last_error=retry.last_error if retry else None,
            next_attempt_at=retry.next_attempt_at if retry else None,
        )

    async def advance_waiting(self, batch: int = 50) -> int:
        """Advance the conversions whose time has come; one replica at a time. Returns how
        many were looked at."""
        async with exclusive_turn(self.store.engine, CONVERSION_LOCK) as connection:
            if connection is None:
                return 0
            due = await conversions_table.due(
                connection, self.store.schema, datetime.now(UTC), batch
            )
            await connection.commit()
            for tenant_id, lead_id in due:
                outcome = await self.advance(tenant_id, lead_id)
                log.info("lead %s conversion: %s", lead_id, outcome)
        return len(due)

    async def _lead(self, tenant_id: str, lead_id: str) -> tuple[Lead, Caller]:
        """The lead, and the caller who started its conversion (the saga acts as them)."""
        async with self.store.unit_of_work() as uow:
            lead = await self.leads.load(uow, Caller(tenant_id, "crm-sales", ""), lead_id)
            history = await uow.read_stream(lead_id)
        started = [e for e in history if e.event_type == LeadConversionStarted.event_type]
        metadata = started[-1].metadata if started else history[0].metadata
        return lead, Caller(tenant_id, metadata.actor, metadata.correlation_id)

    def _key(self, lead: Lead, step: str) -> str:
        return idempotency_key(lead.lead_id, int(lead.state["conversion"]["attempt"]), step)

    async def _step(self, caller: Caller, lead: Lead, step: str, resource_id: str) -> None:
        async with self.store.unit_of_work() as uow:
            version = lead.version
            lead.conversion_step(step, resource_id)
            await self.leads.save(uow, caller, lead, version)

    async def _finish(self, caller: Caller, lead: Lead) -> None:
        """Open the opportunity and mark the lead converted, in one transaction."""
        conversion = lead.state["conversion"]
        plan = conversion["plan"]
        opportunity_id = opportunity_id_for(lead.lead_id, int(conversion["attempt"]))
        async with self.store.unit_of_work() as uow:
            version = lead.version
            await self.sales.open_in(
                uow,
                caller,
                opportunity_id,
                {
                    "pipeline_id": plan["pipeline_id"],
                    "name": plan["opportunity_name"],
                    "amount": plan["amount"],
                    "currency": plan["currency"],
                    "expected_close_date": plan["expected_close_date"],
                    "owner_id": plan["owner_id"],
                    "contact_id": conversion["contact"],
                    "account_id": conversion["account"],
                },
            )
            lead.converted(opportunity_id)
            await self.leads.save(uow, caller, lead, version)

    async def _undo(self, caller: Caller, lead: Lead, reason: str) -> Outcome:
        """Archive what the conversion made, newest first, then record the failure."""
        assert self.contacts is not None
        conversion = lead.state["conversion"]
        why = f"the conversion of lead {lead.lead_id} failed: {reason}"
        compensated = []
        try:
            if conversion.get("contact"):
                await self.contacts.archive_contact(caller, conversion["contact"], why)
                compensated.append(conversion["contact"])
            if conversion.get("account"):
                await self.contacts.archive_account(caller, conversion["account"], why)
                compensated.append(conversion["account"])
        except ContactsUnavailable as error:
            await self._wait(caller.tenant_id, lead.lead_id, f"undoing: {error}")
            return "waiting"
        try:
            async with self.store.unit_of_work() as uow:
                version = lead.version
                lead.conversion_failed(reason, compensated)
                await self.leads.save(uow, caller, lead, version)
        except ConcurrencyConflict:
            return "waiting"
        await self._forget(lead.lead_id)
        log.warning("lead %s: %s", lead.lead_id, why)
        return "failed"

    async def _wait(self, tenant_id: str, lead_id: str, error: str) -> None:
        async with self.store.unit_of_work() as uow:
            await conversions_table.postpone(
                uow.connection, self.store.schema, tenant_id, lead_id, error, retry_delay
            )

    async def _forget(self, lead_id: str) -> None:
        async with self.store.unit_of_work() as uow:
            await conversions_table.forget(uow.connection, self.store.schema, lead_id)


class ConversionUnavailable(PlatformError):
    status_code = 503
    code = "conversion_unavailable"


def account_of(plan: dict[str, Any]) -> dict[str, Any]:
    return {"name": plan["account_name"], "owner_id": plan["owner_id"]}


def contact_of(lead: Lead, plan: dict[str, Any], account_id: str) -> dict[str, Any]:
    """The lead's person as a contact of the contacts service, working at the account."""
    state = lead.state
    return {
        "first_name": state.get("first_name"),
        "last_name": state.get("last_name"),
        "emails": [state["email"]] if state.get("email") else [],
        "phones": [state["phone"]] if state.get("phone") else [],
        "lifecycle_stage": "opportunity",
        "owner_id": plan["owner_id"],
        "source": f"lead:{lead.lead_id}",
        "works_at": {"account_id": account_id},
    }


async def run_conversions(
    handlers: ConversionHandlers, interval_s: float, stop: asyncio.Event
) -> None:
    """Drive waiting conversions every ``interval_s`` until ``stop``."""
    await every(interval_s, stop, handlers.advance_waiting, "advancing lead conversions")
