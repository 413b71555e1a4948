"""Converting a lead spans two services: the contacts service makes the organisation and the
person, the sales service the opportunity. Whatever fails on the way, the end is one of two:
all three exist once, or none stays active and the lead is qualified again.

Both services run for real (their HTTP apps, their own schemas on one PostgreSQL); the sales
service calls the contacts service over HTTP. A "crash" is an exception thrown right after a
remote call took effect, before the sales service recorded it; a fresh set of handlers (a
restarted process) then carries on.
"""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_contacts.bootstrap import MIGRATIONS as CONTACTS_MIGRATIONS
from crm_contacts.bootstrap import build_app as build_contacts
from crm_contacts.config import ContactsSettings
from crm_sales.adapters.contacts_client import HttpContactsClient
from crm_sales.application.conversion import ContactsPort, ConversionHandlers
from crm_sales.application.handlers import SalesHandlers
from crm_sales.application.leads import LeadHandlers
from crm_sales.bootstrap import MIGRATIONS as SALES_MIGRATIONS
from crm_sales.bootstrap import build_app as build_sales
from crm_sales.config import SalesSettings
from crm_shared.caller import Caller
from crm_shared.eventstore import EventStore, upgrade
from crm_shared.privacy import KeyEncryptionKey
from crm_shared.privacy.keystore import SubjectKeyStore
from crm_shared.settings import PlatformSettings

pytestmark = pytest.mark.integration

ADA = {"X-Tenant-Id": "tenant-a", "X-Actor-Id": "user-ada"}
STAGES = [
    {"stage_id": "qualify", "name": "Qualify", "probability": 10},
    {"stage_id": "propose", "name": "Propose", "probability": 50},
]
PLAN = {"pipeline_id": "new", "amount": "12000.00", "currency": "EUR"}


class Crash(Exception):
    """The process died right after the remote call took effect."""


class CrashAfter:
    """The real contacts client, but the process "dies" once the named call has succeeded."""

    def __init__(self, real: ContactsPort, call: str) -> None:
        self.real = real
        self.call = call

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.real, name)
        if name != self.call:
            return method

        async def then_crash(*args: Any) -> Any:
            await method(*args)
            raise Crash(name)

        return then_crash


@dataclass
class Services:
    contacts: httpx.AsyncClient
    sales: httpx.AsyncClient
    contacts_client: HttpContactsClient
    engine: AsyncEngine
    sales_schema: str
    key_encryption_key: str

    def restarted(self, contacts: ContactsPort) -> ConversionHandlers:
        """The sales service's conversion handlers as a new process would build them."""
        store = EventStore(self.engine, self.sales_schema)
        keys = SubjectKeyStore(
            self.sales_schema, KeyEncryptionKey.from_base64(self.key_encryption_key)
        )
        return ConversionHandlers(store, LeadHandlers(store, keys), SalesHandlers(store), contacts)


@pytest.fixture
async def services(
    engine: AsyncEngine, database_url: str, kafka_bootstrap: str, unique_name: str
) -> AsyncIterator[Services]:
    contacts_schema, sales_schema = f"{unique_name}_c", f"{unique_name}_s"
    await upgrade(database_url, contacts_schema, CONTACTS_MIGRATIONS)
    await upgrade(database_url, sales_schema, SALES_MIGRATIONS)
    platform = PlatformSettings(
        DATABASE_URL=database_url,
        KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap,  # type: ignore[call-arg]
    )
    contacts_app = build_contacts(
        platform,
        ContactsSettings(
            db_schema=contacts_schema,
            run_relay=False,
            key_encryption_key=SecretStr(_new_key()),
        ),
        engine,
    )
    sales_key = _new_key()
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=contacts_app), base_url="http://contacts"
    ) as contacts:
        contacts_client = HttpContactsClient("http://contacts", contacts)
        sales_app = build_sales(
            platform,
            SalesSettings(
                db_schema=sales_schema,
                run_relay=False,
                run_consumer=False,
                run_scheduler=False,
                run_conversions=False,
                key_encryption_key=SecretStr(sales_key),
            ),
            engine,
            contacts_client,
        )
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=sales_app), base_url="http://sales"
        ) as sales:
            defined = await sales.put(
                "/pipelines/new", json={"name": "New", "stages": STAGES}, headers=ADA
            )
            assert defined.status_code == 200, defined.text
            yield Services(contacts, sales, contacts_client, engine, sales_schema, sales_key)


def _new_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


async def qualified_lead(sales: httpx.AsyncClient, company: str = "Initech") -> dict[str, Any]:
    captured = await sales.post(
        "/leads",
        json={
            "first_name": "Peter",
            "last_name": "Gibbons",
            "email": "Peter@Initech.example",
            "phone": "+1 512 555 0100",
            "company": company,
        },
        headers=ADA,
    )
    assert captured.status_code == 201, captured.text
    lead = captured.json()
    assigned = await sales.post(
        f"/leads/{lead['id']}/assign",
        json={"owner_id": "user-ada"},
        headers={**ADA, "If-Match": captured.headers["ETag"]},
    )
    qualified = await sales.post(
        f"/leads/{lead['id']}/qualify",
        json={"authority": True, "need": "TPS reports, automated"},
        headers={**ADA, "If-Match": assigned.headers["ETag"]},
    )
    assert qualified.status_code == 200, qualified.text
    return {**qualified.json(), "etag": qualified.headers["ETag"]}


async def start(services: Services, lead: dict[str, Any], **plan: Any) -> httpx.Response:
    return await services.sales.post(
        f"/leads/{lead['id']}/convert",
        json={**PLAN, "expected_close_date": "2027-06-30", **plan},
        headers={**ADA, "If-Match": lead["etag"]},
    )


async def accounts_named(contacts: httpx.AsyncClient, name: str) -> list[dict[str, Any]]:
    page = await contacts.get(
        "/accounts", params={"q": name, "include_archived": "true"}, headers=ADA
    )
    assert page.status_code == 200, page.text
    return [a for a in page.json()["items"] if a["name"] == name]


async def contacts_of_lead(contacts: httpx.AsyncClient, lead_id: str) -> list[dict[str, Any]]:
    page = await contacts.get(
        "/contacts", params={"q": "Gibbons", "include_archived": "true"}, headers=ADA
    )
    assert page.status_code == 200, page.text
    return [c for c in page.json()["items"] if c["source"] == f"lead:{lead_id}"]


async def test_a_qualified_lead_becomes_an_account_a_contact_and_an_opportunity(
    services: Services,
) -> None:
    lead = await qualified_lead(services.sales)

    answer = await start(services, lead)

    assert answer.status_code == 201, answer.text
    conversion = answer.json()
    assert conversion["status"] == "converted"
    assert answer.headers["Location"] == f"/opportunities/{conversion['opportunity_id']}"
    account = await services.contacts.get(f"/accounts/{conversion['account_id']}", headers=ADA)
    assert account.json()["name"] == "Initech"
    contact = await services.contacts.get(f"/contacts/{conversion['contact_id']}", headers=ADA)
    assert contact.json()["emails"][0]["address"] == "peter@initech.example"
    assert contact.json()["lifecycle_stage"] == "opportunity"
    employers = await services.contacts.get(
        f"/contacts/{conversion['contact_id']}/accounts", headers=ADA
    )
    assert [e["account_id"] for e in employers.json()] == [conversion["account_id"]]
    opportunity = await services.sales.get(
        f"/opportunities/{conversion['opportunity_id']}", headers=ADA
    )
    assert opportunity.status_code == 200, opportunity.text
    assert opportunity.json()["contact_id"] == conversion["contact_id"]
    assert opportunity.json()["account_id"] == conversion["account_id"]
    assert Decimal(opportunity.json()["amount"]) == Decimal("12000")
    converted = (await services.sales.get(f"/leads/{lead['id']}", headers=ADA)).json()
    assert converted["status"] == "converted"


@pytest.mark.parametrize("dies_after", ["create_account", "create_contact"])
async def test_a_crash_after_any_remote_step_resumes_and_makes_each_thing_once(
    services: Services, dies_after: str
) -> None:
    company = "Crashed Accounts" if dies_after == "create_account" else "Crashed Contacts"
    lead = await qualified_lead(services.sales, company=company)
    crashing = services.restarted(CrashAfter(services.contacts_client, dies_after))
    started = await crashing.start(
        Caller("tenant-a", "user-ada", "c1"),
        lead["id"],
        3,
        PLAN | {"expected_close_date": "2027-06-30"},
    )
    assert started.version == 4
    with pytest.raises(Crash):
        await crashing.advance("tenant-a", lead["id"])

    outcome = await services.restarted(services.contacts_client).advance("tenant-a", lead["id"])

    assert outcome == "converted"
    assert len(await accounts_named(services.contacts, company)) == 1
    assert len(await contacts_of_lead(services.contacts, lead["id"])) == 1
    conversion = (await services.sales.get(f"/leads/{lead['id']}/conversion", headers=ADA)).json()
    assert conversion["status"] == "converted"
    again = await services.restarted(services.contacts_client).advance("tenant-a", lead["id"])
    assert again == "converted"
    opportunities = await services.sales.get(
        "/opportunities", params={"owner": "user-ada"}, headers=ADA
    )
    assert [o["id"] for o in opportunities.json()["items"]].count(conversion["opportunity_id"]) == 1


async def test_an_unreachable_contacts_service_delays_the_conversion(services: Services) -> None:
    lead = await qualified_lead(services.sales, company="Waiting Ltd")
    away = HttpContactsClient("http://127.0.0.1:9")  # nothing listens on the discard port
    waiting = services.restarted(away)
    await waiting.start(
        Caller("tenant-a", "user-ada", "c2"),
        lead["id"],
        3,
        PLAN | {"expected_close_date": "2027-06-30"},
    )

    assert await waiting.advance("tenant-a", lead["id"]) == "waiting"
    assert await waiting.advance("tenant-a", lead["id"]) == "waiting"

    conversion = (await services.sales.get(f"/leads/{lead['id']}/conversion", headers=ADA)).json()
    assert conversion["status"] == "converting"
    assert conversion["retries"] == 2
    assert "ConnectError" in conversion["last_error"]
    assert conversion["next_attempt_at"] is not None
    await away.close()

    outcome = await services.restarted(services.contacts_client).advance("tenant-a", lead["id"])

    assert outcome == "converted"
    done = (await services.sales.get(f"/leads/{lead['id']}/conversion", headers=ADA)).json()
    assert done["retries"] == 0
    assert done["last_error"] is None


async def test_a_refused_contact_undoes_the_account_and_the_lead_can_convert_again(
    services: Services,
) -> None:
    required = await services.contacts.put(
        "/custom-fields/region",
        json={"label": "Sales region", "field_type": "text", "required": True},
        headers=ADA,
    )
    assert required.status_code == 200, required.text
    lead = await qualified_lead(services.sales, company="Refused Corp")

    answer = await start(services, lead)

    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert problem["error"] == "conversion_failed"
    assert "region" in problem["detail"]
    [account] = await accounts_named(services.contacts, "Refused Corp")
    assert account["archived"] is True
    assert problem["compensated"] == [account["id"]]
    back = await services.sales.get(f"/leads/{lead['id']}", headers=ADA)
    assert back.json()["status"] == "qualified"
    failed = (await services.sales.get(f"/leads/{lead['id']}/conversion", headers=ADA)).json()
    assert failed["status"] == "failed"
    assert failed["failure"]["compensated"] == [account["id"]]

    optional = await services.contacts.put(
        "/custom-fields/region",
        json={"label": "Sales region", "field_type": "text", "required": False},
        headers=ADA,
    )
    assert optional.status_code == 200, optional.text
    retried = await start(services, {**lead, "etag": back.headers["ETag"]})

    assert retried.status_code == 201, retried.text
    assert retried.json()["attempt"] == 2
    active = [
        a for a in await accounts_named(services.contacts, "Refused Corp") if not a["archived"]
    ]
    assert [a["id"] for a in active] == [retried.json()["account_id"]]


async def test_only_a_qualified_lead_converts_and_a_bad_plan_names_its_field(
    services: Services,
) -> None:
    captured = await services.sales.post(
        "/leads", json={"last_name": "Lumbergh", "email": "bill@initech.example"}, headers=ADA
    )
    new = {**captured.json(), "etag": captured.headers["ETag"]}
    not_yet = await start(services, new)
    assert not_yet.status_code == 409, not_yet.text

    lead = await qualified_lead(services.sales, company="Planned Inc")
    no_pipeline = await start(services, lead, pipeline_id="nope")
    assert no_pipeline.status_code == 422
    assert no_pipeline.json()["fields"][0]["field"] == "pipeline_id"
    bad_currency = await start(services, lead, currency="EURO")
    assert bad_currency.status_code == 422
    assert bad_currency.json()["fields"][0]["field"] == "currency"
    stale = await start(services, {**lead, "etag": '"1"'})
    assert stale.status_code == 412
    still = await services.sales.get(f"/leads/{lead['id']}", headers=ADA)
    assert still.json()["status"] == "qualified"


async def test_a_crash_while_undoing_resumes_the_undoing(services: Services) -> None:
    required = await services.contacts.put(
        "/custom-fields/tier",
        json={"label": "Tier", "field_type": "text", "required": True},
        headers=ADA,
    )
    assert required.status_code == 200, required.text
    lead = await qualified_lead(services.sales, company="Undone Twice")
    crashing = services.restarted(CrashAfter(services.contacts_client, "archive_account"))
    await crashing.start(
        Caller("tenant-a", "user-ada", "c3"),
        lead["id"],
        3,
        PLAN | {"expected_close_date": "2027-06-30"},
    )
    with pytest.raises(Crash):
        await crashing.advance("tenant-a", lead["id"])

    outcome = await services.restarted(services.contacts_client).advance("tenant-a", lead["id"])

    assert outcome == "failed"
    [account] = await accounts_named(services.contacts, "Undone Twice")
    assert account["archived"] is True
    assert await contacts_of_lead(services.contacts, lead["id"]) == []
    failed = (await services.sales.get(f"/leads/{lead['id']}/conversion", headers=ADA)).json()
    assert failed["status"] == "failed"
    assert failed["failure"]["compensated"] == [account["id"]]
