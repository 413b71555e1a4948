"""Accounts over HTTP on the real database and broker: organisations, groups, people in
roles, search by organisation, and duplicates at the same organisation."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_contacts.bootstrap import TOPIC
from crm_devstack.subscriber import records_keyed, subscribe_from_now
from crm_shared.events import from_kafka_record
from crm_shared.relay import OutboxRelay, RelayConfig

from .conftest import ADA, BOB

pytestmark = pytest.mark.integration


async def account(api: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    answer = await api.post("/accounts", json={"name": "Acme", **body}, headers=ADA)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def person(api: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    answer = await api.post("/contacts", json={"last_name": "Smith", **body}, headers=ADA)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def test_an_account_is_created_changed_with_its_etag_and_archived(
    api: httpx.AsyncClient,
) -> None:
    acme = await account(api, domain="www.acme.example", tags=["Key"])
    assert (acme["domain"], acme["tags"], acme["version"]) == ("acme.example", ["key"], 1)
    changed = await api.patch(
        f"/accounts/{acme['id']}", json={"industry": "Rockets"}, headers={**ADA, "If-Match": '"1"'}
    )
    assert changed.json()["industry"] == "Rockets"
    stale = await api.patch(
        f"/accounts/{acme['id']}", json={"industry": "Anvils"}, headers={**ADA, "If-Match": '"1"'}
    )
    assert stale.status_code == 412
    bad = await api.post("/accounts", json={"name": "X", "domain": "not a domain"}, headers=ADA)
    assert bad.status_code == 422
    assert "domain" in bad.text
    archived = await api.post(
        f"/accounts/{acme['id']}/archive", json={}, headers={**ADA, "If-Match": '"2"'}
    )
    assert archived.json()["archived"] is True
    assert (await api.get(f"/accounts/{acme['id']}", headers=BOB)).status_code == 404


async def test_groups_have_children_and_no_cycles(api: httpx.AsyncClient) -> None:
    group = await account(api, name="Acme Group")
    branch = await account(api, name="Acme France", parent_account_id=group["id"])
    children = (await api.get(f"/accounts/{group['id']}/children", headers=ADA)).json()
    assert [c["id"] for c in children] == [branch["id"]]
    cycle = await api.patch(
        f"/accounts/{group['id']}",
        json={"parent_account_id": branch["id"]},
        headers={**ADA, "If-Match": '"1"'},
    )
    assert cycle.status_code == 422
    assert "parent_account_id" in cycle.text
    unknown = await api.post(
        "/accounts", json={"name": "X", "parent_account_id": "nope"}, headers=ADA
    )
    assert unknown.status_code == 422


async def test_people_work_at_organisations_in_roles(api: httpx.AsyncClient) -> None:
    acme = await account(api)
    cfo = await person(api, first_name="Ann")
    linked = await api.put(
        f"/accounts/{acme['id']}/contacts/{cfo['id']}", json={"role": "CFO"}, headers=ADA
    )
    assert linked.status_code == 200
    assert [(p["contact_id"], p["role"]) for p in linked.json()] == [(cfo["id"], "CFO")]
    relinked = await api.put(
        f"/accounts/{acme['id']}/contacts/{cfo['id']}",
        json={"role": "CEO", "primary": True},
        headers=ADA,
    )
    assert relinked.json()[0]["role"] == "CEO"
    employers = (await api.get(f"/contacts/{cfo['id']}/accounts", headers=ADA)).json()
    assert [(e["account_name"], e["role"], e["primary"]) for e in employers] == [
        ("Acme", "CEO", True)
    ]
    ghost = await api.put(f"/accounts/{acme['id']}/contacts/ghost", json={}, headers=ADA)
    assert ghost.status_code == 404
    gone = await api.delete(f"/accounts/{acme['id']}/contacts/{cfo['id']}", headers=ADA)
    assert gone.status_code == 204
    assert (await api.get(f"/accounts/{acme['id']}/contacts", headers=ADA)).json() == []


async def test_contacts_are_found_by_their_organisation(api: httpx.AsyncClient) -> None:
    globex = await account(api, name="Globex Corporation")
    hank = await person(
        api, last_name="Scorpio", works_at={"account_id": globex["id"], "role": "CEO"}
    )
    await person(api, last_name="Nobody")
    found = (await api.get("/contacts", params={"q": "globex"}, headers=ADA)).json()["items"]
    assert [c["id"] for c in found] == [hank["id"]]


async def test_a_similar_name_at_the_same_organisation_is_a_likely_duplicate(
    api: httpx.AsyncClient,
) -> None:
    initech = await account(api, name="Initech")
    elsewhere = await account(api, name="Initrode")
    first = await person(
        api, first_name="Bill", last_name="Lumbergh", works_at={"account_id": initech["id"]}
    )
    await person(
        api, first_name="Will", last_name="Lumbergh", works_at={"account_id": elsewhere["id"]}
    )
    second = await person(
        api, first_name="Bil", last_name="Lumbergh", works_at={"account_id": initech["id"]}
    )
    [duplicate] = second["likely_duplicates"]
    assert duplicate["id"] == first["id"]
    assert "same organisation" in duplicate["reasons"][0]
    again = (await api.get(f"/contacts/{second['id']}/duplicates", headers=ADA)).json()
    assert [d["id"] for d in again] == [first["id"]]


async def test_account_events_reach_subscribers_keyed_by_account(
    api: httpx.AsyncClient, engine: AsyncEngine, contacts_schema: str, kafka_bootstrap: str
) -> None:
    subscriber = await subscribe_from_now(kafka_bootstrap, TOPIC)
    try:
        acme = await account(api)
        someone = await person(api)
        await api.put(
            f"/accounts/{acme['id']}/contacts/{someone['id']}", json={"role": "CFO"}, headers=ADA
        )
        relay = OutboxRelay(
            engine, RelayConfig(contacts_schema, TOPIC, "/crm/contacts", kafka_bootstrap)
        )
        try:
            while await relay.publish_next_batch():
                pass
        finally:
            await relay.close()
        received = await records_keyed(subscriber, acme["id"].encode(), expected=2)
    finally:
        await subscriber.stop()
    envelopes = [from_kafka_record(r.key, r.value, r.headers) for r in received]
    assert [e.type for e in envelopes] == [
        "crm.contacts.account.created",
        "crm.contacts.account.contact_linked",
    ]
    assert envelopes[1].data["role"] == "CFO"


async def test_a_retried_create_with_the_same_idempotency_key_creates_nothing_new(
    api: httpx.AsyncClient,
) -> None:
    key = {**ADA, "Idempotency-Key": "conversion:lead-1:account"}
    first = await api.post("/accounts", json={"name": "Acme"}, headers=key)
    again = await api.post("/accounts", json={"name": "Acme"}, headers=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    person_key = {**ADA, "Idempotency-Key": "conversion:lead-1:contact"}
    one = await api.post("/contacts", json={"last_name": "Smith"}, headers=person_key)
    two = await api.post("/contacts", json={"last_name": "Smith"}, headers=person_key)
    assert (one.status_code, two.status_code) == (201, 200)
    assert two.json()["id"] == one.json()["id"]
    other_tenant = await api.post(
        "/accounts",
        json={"name": "Acme"},
        headers={**BOB, "Idempotency-Key": key["Idempotency-Key"]},
    )
    assert other_tenant.status_code == 201
    assert other_tenant.json()["id"] != first.json()["id"]
