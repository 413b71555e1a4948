"""Erasure (right to be forgotten) and access requests, against the real database and broker.

After erasure nothing reveals the person: not the API, not the read model, not a re-read of
crm.contacts.events; the non-personal facts (stage, owner, tags, consents, dates) survive.
"""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_contacts.bootstrap import TOPIC
from crm_devstack.subscriber import records_keyed, subscribe_from_start
from crm_shared.contracts.contacts import REGISTRY, ContactCreated
from crm_shared.events import from_kafka_record
from crm_shared.privacy import SealError, unseal
from crm_shared.relay import OutboxRelay, RelayConfig

from .conftest import ADA, BOB

pytestmark = pytest.mark.integration


def person() -> dict[str, Any]:
    """Personal values no other test uses, so finding them anywhere is this test's leak."""
    marker = uuid.uuid4().hex[:10]
    return {
        "first_name": f"Ada{marker}",
        "last_name": f"Lovelace{marker}",
        "emails": [f"ada.{marker}@example.com"],
        "phones": ["+44 20 7183 8750"],
        "addresses": [{"line1": f"{marker} St James's Square", "city": "London", "country": "GB"}],
        "tags": ["vip"],
        "lifecycle_stage": "customer",
        "owner_id": "owner-1",
    }


async def created(api: httpx.AsyncClient, values: dict[str, Any]) -> str:
    response = await api.post("/contacts", json=values, headers=ADA)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def erase(api: httpx.AsyncClient, contact_id: str) -> httpx.Response:
    return await api.post(f"/contacts/{contact_id}/erase", json={}, headers=ADA)


async def publish_everything(engine: AsyncEngine, schema: str, bootstrap: str) -> None:
    relay = OutboxRelay(engine, RelayConfig(schema, TOPIC, "/crm/contacts", bootstrap))
    try:
        while await relay.publish_next_batch():
            pass
    finally:
        await relay.close()


async def test_after_erasure_no_api_reveals_the_person_and_the_facts_stay(
    api: httpx.AsyncClient,
) -> None:
    values = person()
    contact_id = await created(api, values)
    before = datetime.now(UTC)
    await api.patch(
        f"/contacts/{contact_id}",
        json={"first_name": "Augusta"},
        headers={**ADA, "If-Match": '"1"'},
    )
    await api.put(
        f"/contacts/{contact_id}/consents/email",
        json={"status": "granted", "lawful_basis": "consent", "source": "web form"},
        headers={**ADA, "If-Match": '"2"'},
    )

    response = await erase(api, contact_id)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["erased"] is True
    assert (body["first_name"], body["last_name"]) == (None, None)
    assert body["emails"] == body["phones"] == body["addresses"] == []
    assert (body["lifecycle_stage"], body["owner_id"], body["tags"]) == (
        "customer",
        "owner-1",
        ["vip"],
    )
    assert body["consents"]["email"]["status"] == "granted"
    answers = [
        await api.get(f"/contacts/{contact_id}", headers=ADA),
        await api.get(f"/contacts/{contact_id}", params={"as_of": before.isoformat()}, headers=ADA),
        await api.get(f"/contacts/{contact_id}/history", headers=ADA),
        await api.get(f"/contacts/{contact_id}/personal-data", headers=ADA),
        await api.get("/contacts", params={"include_archived": "true", "limit": 500}, headers=ADA),
        await api.get("/contacts/export", params={"include_archived": "true"}, headers=ADA),
        await api.get("/contacts/export?format=json&include_archived=true", headers=ADA),
    ]
    for answer in answers:
        assert answer.status_code == 200, answer.text
        for personal in (values["last_name"], values["emails"][0], "+442071838750", "Augusta"):
            assert personal not in answer.text, answer.request.url
    history = answers[2].json()
    assert history[0]["changes"]["personal_data"] == {"old": None, "new": "[erased]"}
    assert history[-1]["changes"] == {"erased": {"old": False, "new": True}}
    assert len(history) == 4  # created, updated, consent, erased: the facts of what happened
    search = await api.get("/contacts", params={"q": values["emails"][0]}, headers=ADA)
    assert search.json()["items"] == []


async def test_erasure_is_final_repeatable_and_tenant_bound(api: httpx.AsyncClient) -> None:
    contact_id = await created(api, person())
    assert (await erase(api, contact_id)).status_code == 200
    again = await erase(api, contact_id)
    assert again.status_code == 200
    assert again.headers["ETag"] == '"2"'  # nothing more was written
    change = await api.patch(
        f"/contacts/{contact_id}", json={"first_name": "X"}, headers={**ADA, "If-Match": '"2"'}
    )
    assert change.status_code == 409
    key = await api.get(f"/privacy/keys/{contact_id}", headers=ADA)
    assert key.status_code == 410
    assert key.json()["error"] == "erased"
    other_tenant = await api.post(f"/contacts/{contact_id}/erase", json={}, headers=BOB)
    assert other_tenant.status_code == 404
    bad = await api.post(f"/contacts/{contact_id}/erase", json={"reason": "whim"}, headers=ADA)
    assert bad.status_code == 422


async def test_the_read_model_and_key_store_keep_nothing_personal(
    api: httpx.AsyncClient, engine: AsyncEngine, contacts_schema: str
) -> None:
    values = person()
    contact_id = await created(api, values)
    await erase(api, contact_id)
    async with engine.connect() as connection:
        row = (
            await connection.execute(
                text(
                    f'SELECT c::text AS everything FROM "{contacts_schema}".contacts c'
                    " WHERE contact_id = :id"
                ),
                {"id": contact_id},
            )
        ).one()
        identifiers = await connection.scalar(
            text(
                f'SELECT count(*) FROM "{contacts_schema}".contact_identifiers'
                " WHERE contact_id = :id"
            ),
            {"id": contact_id},
        )
        keys = await connection.scalar(
            text(f'SELECT count(*) FROM "{contacts_schema}".subject_keys WHERE subject_id = :id'),
            {"id": contact_id},
        )
        events = await connection.scalar(
            text(
                f"SELECT string_agg(data::text, ' ') FROM \"{contacts_schema}\".events"
                " WHERE stream_id = :id"
            ),
            {"id": contact_id},
        )
    assert values["last_name"] not in row.everything
    assert values["emails"][0] not in row.everything
    assert "customer" in row.everything
    assert identifiers == 0
    assert keys == 0
    assert values["emails"][0] not in events  # the log never held it in the clear


async def test_a_re_read_of_the_topic_reveals_nothing_after_erasure(
    api: httpx.AsyncClient, engine: AsyncEngine, contacts_schema: str, kafka_bootstrap: str
) -> None:
    values = person()
    contact_id = await created(api, values)
    key = base64.b64decode(
        (await api.get(f"/privacy/keys/{contact_id}", headers=ADA)).json()["key"]
    )
    await erase(api, contact_id)
    await publish_everything(engine, contacts_schema, kafka_bootstrap)

    replay = await subscribe_from_start(kafka_bootstrap, TOPIC)
    try:
        records = await records_keyed(replay, contact_id.encode(), expected=2)
    finally:
        await replay.stop()

    assert len(records) == 2
    for record in records:
        assert values["emails"][0].encode() not in record.value
        assert values["last_name"].encode() not in record.value
    envelopes = [from_kafka_record(r.key, r.value, r.headers) for r in records]
    assert [e.type for e in envelopes] == [
        "crm.contacts.contact.created",
        "crm.contacts.contact.erased",
    ]
    event = REGISTRY.decode(envelopes[0])
    assert isinstance(event, ContactCreated)
    assert event.lifecycle_stage == "customer"  # the non-personal facts are readable
    assert unseal(key, event.personal)["emails"][0]["address"] == values["emails"][0]
    # ...only to whoever kept the key, against the rules; the service no longer has it:
    assert (await api.get(f"/privacy/keys/{contact_id}", headers=ADA)).status_code == 410
    with pytest.raises(SealError):
        unseal(base64.b64decode(base64.b64encode(bytes(32))), event.personal)


async def test_erasing_a_survivor_erases_the_contact_merged_into_it(api: httpx.AsyncClient) -> None:
    first, second = person(), person()
    survivor = await created(api, first)
    duplicate = await created(api, second)
    merged = await api.post(
        f"/contacts/{survivor}/merge",
        json={"duplicate_id": duplicate, "duplicate_version": 1},
        headers={**ADA, "If-Match": '"1"'},
    )
    assert merged.status_code == 200, merged.text
    refused = await erase(api, duplicate)
    assert refused.status_code == 409
    assert survivor in refused.json()["detail"]

    assert (await erase(api, survivor)).status_code == 200

    for contact_id in (survivor, duplicate):
        for path in ("", "/history"):
            answer = await api.get(f"/contacts/{contact_id}{path}", headers=ADA)
            assert answer.status_code == 200
            for values in (first, second):
                assert values["emails"][0] not in answer.text
                assert values["last_name"] not in answer.text


async def test_an_access_request_exports_everything_held_about_the_person(
    api: httpx.AsyncClient,
) -> None:
    values = person()
    contact_id = await created(api, values)
    await api.put(
        f"/contacts/{contact_id}/consents/sms",
        json={"status": "withdrawn", "lawful_basis": "consent", "source": "call"},
        headers={**ADA, "If-Match": '"1"'},
    )

    answer = await api.get(f"/contacts/{contact_id}/personal-data", headers=ADA)

    assert answer.status_code == 200
    assert "attachment" in answer.headers["Content-Disposition"]
    document = answer.json()
    assert document["subject"] == {"contact_id": contact_id, "tenant_id": "tenant-a"}
    assert document["record"]["emails"] == [{"address": values["emails"][0], "primary": True}]
    assert document["record"]["addresses"][0]["line1"] == values["addresses"][0]["line1"]
    assert [c["channel"] for c in document["consents"]] == ["sms"]
    assert document["history"][0]["changes"]["last_name"]["new"] == values["last_name"]
    assert (await api.get(f"/contacts/{contact_id}/personal-data", headers=BOB)).status_code == 404
