"""The contacts API, on a real PostgreSQL: writes, optimistic concurrency, queries, history."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from .conftest import ADA, BOB

pytestmark = pytest.mark.integration

NEW = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "emails": ["Ada@Example.COM"],
    "phones": ["+44 20 7183 8750"],
    "tags": ["VIP"],
    "lifecycle_stage": "lead",
    "owner_id": "owner-1",
}


async def create(api: httpx.AsyncClient, **overrides: Any) -> httpx.Response:
    response = await api.post("/contacts", json={**NEW, **overrides}, headers=ADA)
    assert response.status_code == 201, response.text
    return response


async def test_creating_a_contact_normalises_it_and_gives_its_version_as_etag(
    api: httpx.AsyncClient,
) -> None:
    response = await create(api)
    body = response.json()
    assert response.headers["ETag"] == '"1"'
    assert response.headers["Location"] == f"/contacts/{body['id']}"
    assert body["emails"] == [{"address": "ada@example.com", "primary": True}]
    assert body["phones"] == [{"number": "+442071838750", "primary": True}]
    assert body["tags"] == ["vip"]
    fetched = await api.get(f"/contacts/{body['id']}", headers=ADA)
    assert fetched.json() == {k: v for k, v in body.items() if k != "likely_duplicates"}
    assert body["likely_duplicates"] == []


async def test_bad_input_is_a_422_naming_the_field(api: httpx.AsyncClient) -> None:
    response = await api.post("/contacts", json={**NEW, "emails": ["nope"]}, headers=ADA)
    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == "email"
    response = await api.post("/contacts", json={"first_name": "X"}, headers=ADA)
    assert response.status_code == 422
    assert [f["field"] for f in response.json()["fields"]] == ["last_name"]
    response = await api.post("/contacts", json=NEW)
    assert response.status_code == 422
    assert {f["field"] for f in response.json()["fields"]} == {"x-tenant-id", "x-actor-id"}


async def test_unknown_ids_and_other_tenants_contacts_are_404(api: httpx.AsyncClient) -> None:
    contact_id = (await create(api)).json()["id"]
    assert (await api.get("/contacts/nobody", headers=ADA)).status_code == 404
    assert (await api.get(f"/contacts/{contact_id}", headers=BOB)).status_code == 404
    patched = await api.patch(
        f"/contacts/{contact_id}", json={"first_name": "Eve"}, headers={**BOB, "If-Match": '"1"'}
    )
    assert patched.status_code == 404


async def test_an_update_needs_the_current_etag(api: httpx.AsyncClient) -> None:
    contact_id = (await create(api)).json()["id"]
    url = f"/contacts/{contact_id}"
    assert (await api.patch(url, json={"first_name": "A"}, headers=ADA)).status_code == 428
    updated = await api.patch(
        url, json={"lifecycle_stage": "customer"}, headers={**ADA, "If-Match": '"1"'}
    )
    assert updated.status_code == 200
    assert updated.headers["ETag"] == '"2"'
    assert updated.json()["lifecycle_stage"] == "customer"
    stale = await api.patch(url, json={"first_name": "B"}, headers={**ADA, "If-Match": '"1"'})
    assert stale.status_code == 412
    assert (stale.json()["expected_version"], stale.json()["actual_version"]) == (1, 2)


async def test_of_two_concurrent_updates_from_the_same_version_one_is_refused(
    api: httpx.AsyncClient,
) -> None:
    contact_id = (await create(api)).json()["id"]
    responses = await asyncio.gather(
        *(
            api.patch(
                f"/contacts/{contact_id}",
                json={"first_name": name},
                headers={**ADA, "If-Match": '"1"'},
            )
            for name in ("One", "Two", "Three")
        )
    )
    assert sorted(r.status_code for r in responses) == [200, 412, 412]


async def test_an_archived_contact_cannot_be_changed(api: httpx.AsyncClient) -> None:
    contact_id = (await create(api)).json()["id"]
    archived = await api.post(
        f"/contacts/{contact_id}/archive",
        json={"reason": "left"},
        headers={**ADA, "If-Match": '"1"'},
    )
    assert archived.json()["archived"] is True
    refused = await api.patch(
        f"/contacts/{contact_id}", json={"first_name": "Z"}, headers={**ADA, "If-Match": '"2"'}
    )
    assert refused.status_code == 409
    assert refused.json()["error"] == "contact_archived"


async def test_lists_with_filters_search_and_a_stable_cursor(api: httpx.AsyncClient) -> None:
    for index in range(5):
        await create(
            api,
            last_name=f"Person{index}",
            emails=[f"p{index}@example.com"],
            lifecycle_stage="customer" if index % 2 else "lead",
            tags=[f"t{index}"],
        )
    await api.post("/contacts", json={**NEW, "last_name": "Other tenant"}, headers=BOB)

    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await api.get("/contacts", params=params, headers=ADA)).json()
        seen += [item["last_name"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == [f"Person{i}" for i in range(5)]

    customers = (await api.get("/contacts", params={"stage": "customer"}, headers=ADA)).json()
    assert sorted(i["last_name"] for i in customers["items"]) == ["Person1", "Person3"]
    tagged = (await api.get("/contacts", params={"tag": "T2"}, headers=ADA)).json()
    assert [i["last_name"] for i in tagged["items"]] == ["Person2"]
    found = (await api.get("/contacts", params={"q": "p3@example"}, headers=ADA)).json()
    assert [i["last_name"] for i in found["items"]] == ["Person3"]
    owned = (await api.get("/contacts", params={"owner": "owner-1"}, headers=ADA)).json()
    assert len(owned["items"]) == 5


async def test_history_and_the_contact_as_of_a_past_moment(api: httpx.AsyncClient) -> None:
    contact_id = (await create(api)).json()["id"]
    await asyncio.sleep(0.05)
    before_rename = datetime.now(UTC)
    await asyncio.sleep(0.05)
    await api.patch(
        f"/contacts/{contact_id}",
        json={"first_name": "Augusta"},
        headers={**ADA, "If-Match": '"1"', "X-Actor-Id": "user-grace"},
    )
    history = (await api.get(f"/contacts/{contact_id}/history", headers=ADA)).json()
    assert [h["event_type"] for h in history] == [
        "crm.contacts.contact.created",
        "crm.contacts.contact.updated",
    ]
    assert history[1]["actor"] == "user-grace"
    assert history[1]["changes"] == {"first_name": {"old": "Ada", "new": "Augusta"}}

    past = await api.get(
        f"/contacts/{contact_id}", params={"as_of": before_rename.isoformat()}, headers=ADA
    )
    assert past.json()["first_name"] == "Ada"
    assert past.headers["ETag"] == '"1"'
    current = await api.get(f"/contacts/{contact_id}", headers=ADA)
    assert current.json()["first_name"] == "Augusta"


async def test_consent_per_channel_with_its_basis_source_and_history(
    api: httpx.AsyncClient,
) -> None:
    contact_id = (await create(api)).json()["id"]
    url = f"/contacts/{contact_id}/consents"
    granted = await api.put(
        f"{url}/email",
        headers={**ADA, "If-Match": '"1"'},
        json={"status": "granted", "lawful_basis": "consent", "source": "newsletter form"},
    )
    assert granted.status_code == 200
    assert granted.json()["consents"]["email"]["status"] == "granted"
    withdrawn = await api.put(
        f"{url}/email",
        headers={**ADA, "If-Match": '"2"'},
        json={"status": "withdrawn", "lawful_basis": "consent", "source": "unsubscribe link"},
    )
    assert withdrawn.headers["ETag"] == '"3"'
    consents = (await api.get(url, headers=ADA)).json()
    assert consents["current"]["email"]["status"] == "withdrawn"
    assert consents["current"]["email"]["source"] == "unsubscribe link"
    assert [h["status"] for h in consents["history"]] == ["granted", "withdrawn"]
    assert consents["history"][0]["actor"] == "user-ada"

    bad = await api.put(
        f"{url}/email",
        headers={**ADA, "If-Match": '"3"'},
        json={"status": "granted", "lawful_basis": "whim", "source": "x"},
    )
    assert bad.status_code == 422
    assert bad.json()["fields"][0]["field"] == "lawful_basis"
    unknown_channel = await api.put(
        f"{url}/fax",
        headers={**ADA, "If-Match": '"3"'},
        json={"status": "granted", "lawful_basis": "consent", "source": "x"},
    )
    assert unknown_channel.status_code == 422


async def test_exports_stream_every_matching_contact_as_csv_or_json(
    api: httpx.AsyncClient,
) -> None:
    import csv
    import io
    import json

    for index in range(7):
        await create(
            api,
            last_name=f"Export{index}",
            emails=[f"e{index}@example.com", "x@y.org"],
            lifecycle_stage="customer" if index < 3 else "lead",
        )
    response = await api.get("/contacts/export", params={"format": "csv"}, headers=ADA)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert sorted(r["last_name"] for r in rows) == [f"Export{i}" for i in range(7)]
    assert rows[0]["other_emails"] == "x@y.org"

    customers = await api.get(
        "/contacts/export", params={"format": "json", "stage": "customer"}, headers=ADA
    )
    exported = json.loads(customers.text)
    assert sorted(c["last_name"] for c in exported) == ["Export0", "Export1", "Export2"]
    assert (
        await api.get("/contacts/export", params={"format": "xml"}, headers=ADA)
    ).status_code == 422


async def test_creating_a_likely_duplicate_reports_it_with_score_and_reasons(
    api: httpx.AsyncClient,
) -> None:
    original = (await create(api)).json()["id"]
    same_email = (
        await create(api, first_name="A.", last_name="King", emails=["ADA@example.com"], phones=[])
    ).json()
    assert same_email["likely_duplicates"][0] == {
        "id": original,
        "score": 1.0,
        "reasons": ["same email ada@example.com"],
    }
    similar_name = (await create(api, emails=["countess@example.org"], phones=[])).json()
    scores = {d["id"]: d for d in similar_name["likely_duplicates"]}
    assert scores[original]["reasons"] == ["similar name (100%)"]

    other_tenant = await api.post("/contacts", json=NEW, headers=BOB)
    assert other_tenant.json()["likely_duplicates"] == []
    listed = (await api.get(f"/contacts/{original}/duplicates", headers=ADA)).json()
    assert {d["id"] for d in listed} == {same_email["id"], similar_name["id"]}


async def test_an_exact_email_match_is_reported_however_many_share_the_name_or_phone(
    api: httpx.AsyncClient,
) -> None:
    """A switchboard number or a common name can match thousands of contacts; the look-up is
    bounded, and the strongest matches (the same email) must never be the ones left out."""
    switchboard = {"last_name": "Smith", "phones": ["+44 20 7946 0000"]}
    for n in range(210):
        await create(
            api, first_name=f"Someone{n}", emails=[f"someone{n}@example.com"], **switchboard
        )
    target = await create(api, first_name="Jane", emails=["jane@example.com"], **switchboard)
    again = (await create(api, first_name="J.", emails=["Jane@Example.com"], **switchboard)).json()
    assert again["likely_duplicates"][0]["id"] == target.json()["id"]
    assert again["likely_duplicates"][0]["reasons"][0] == "same email jane@example.com"
    listed = (await api.get(f"/contacts/{again['id']}/duplicates", headers=ADA)).json()
    assert listed[0]["id"] == target.json()["id"]


async def test_merging_keeps_one_survivor_and_both_histories_tell_it(
    api: httpx.AsyncClient,
) -> None:
    survivor = (await create(api)).json()["id"]
    duplicate = (
        await create(
            api,
            first_name="Augusta",
            emails=["countess@example.org"],
            phones=[],
            lifecycle_stage="customer",
        )
    ).json()["id"]
    stale = await api.post(
        f"/contacts/{survivor}/merge",
        headers={**ADA, "If-Match": '"1"'},
        json={"duplicate_id": duplicate, "duplicate_version": 7},
    )
    assert stale.status_code == 412
    merged = await api.post(
        f"/contacts/{survivor}/merge",
        headers={**ADA, "If-Match": '"1"'},
        json={"duplicate_id": duplicate, "duplicate_version": 1},
    )
    assert merged.status_code == 200, merged.text
    body = merged.json()
    assert [e["address"] for e in body["emails"]] == ["ada@example.com", "countess@example.org"]
    assert body["lifecycle_stage"] == "customer"
    assert merged.headers["ETag"] == '"2"'

    gone = (await api.get(f"/contacts/{duplicate}", headers=ADA)).json()
    assert gone["archived"] is True
    assert gone["merged_into"] == survivor
    history = (await api.get(f"/contacts/{survivor}/history", headers=ADA)).json()
    assert history[-1]["event_type"] == "crm.contacts.contact.merged"
    assert history[-1]["changes"]["merged_contact_id"]["new"] == duplicate
    refused = await api.post(
        f"/contacts/{duplicate}/merge",
        headers={**ADA, "If-Match": '"2"'},
        json={"duplicate_id": survivor, "duplicate_version": 2},
    )
    assert refused.status_code == 409


async def test_custom_fields_are_defined_at_run_time_checked_on_write_and_filterable(
    api: httpx.AsyncClient,
) -> None:
    defined = await api.put(
        "/custom-fields/industry",
        headers=ADA,
        json={"label": "Industry", "field_type": "choice", "choices": ["aerospace", "banking"]},
    )
    assert defined.status_code == 200, defined.text
    await api.put(
        "/custom-fields/employees", headers=ADA, json={"label": "Employees", "field_type": "number"}
    )
    assert [f["name"] for f in (await api.get("/custom-fields", headers=ADA)).json()] == [
        "employees",
        "industry",
    ]
    assert (await api.get("/custom-fields", headers=BOB)).json() == []  # per tenant

    created = (await create(api, custom_fields={"industry": "aerospace", "employees": 40})).json()
    assert created["custom_fields"] == {"industry": "aerospace", "employees": 40}
    refused = await api.post(
        "/contacts", headers=ADA, json={**NEW, "custom_fields": {"industry": "farming"}}
    )
    assert refused.status_code == 422
    assert refused.json()["fields"][0]["field"] == "custom_fields.industry"

    updated = await api.patch(
        f"/contacts/{created['id']}",
        headers={**ADA, "If-Match": '"1"'},
        json={"custom_fields": {"employees": 45}},
    )
    assert updated.json()["custom_fields"] == {"industry": "aerospace", "employees": 45}
    found = (
        await api.get("/contacts", params={"custom.industry": "aerospace"}, headers=ADA)
    ).json()
    assert [c["id"] for c in found["items"]] == [created["id"]]
    changed_type = await api.put(
        "/custom-fields/industry", headers=ADA, json={"label": "Industry", "field_type": "text"}
    )
    assert changed_type.status_code == 422


async def test_a_custom_field_defined_through_another_replica_holds_for_the_next_create(
    api: httpx.AsyncClient, other_replica: httpx.AsyncClient
) -> None:
    await create(api)  # this replica has read the tenant's custom fields: none
    defined = await other_replica.put(
        "/custom-fields/region",
        headers=ADA,
        json={
            "label": "Region",
            "field_type": "choice",
            "choices": ["emea", "apac"],
            "required": True,
        },
    )
    assert defined.status_code == 200, defined.text

    missing = await api.post("/contacts", headers=ADA, json=NEW)
    assert missing.status_code == 422, missing.text
    assert missing.json()["fields"][0]["field"] == "custom_fields.region"
    refused = await api.post(
        "/contacts", headers=ADA, json={**NEW, "custom_fields": {"region": "mars"}}
    )
    assert refused.status_code == 422
    created = (await create(api, custom_fields={"region": "emea"})).json()
    assert created["custom_fields"] == {"region": "emea"}
    everyone = (await api.get("/contacts", headers=ADA)).json()["items"]
    assert len(everyone) == 2  # the refused creates left nothing behind

    optional = await other_replica.put(
        "/custom-fields/region",
        headers=ADA,
        json={"label": "Region", "field_type": "choice", "choices": ["emea", "apac"]},
    )
    assert optional.status_code == 200, optional.text
    await create(api)  # not refused for a field that is no longer required


async def test_addresses_are_stored_with_iso_country_codes(api: httpx.AsyncClient) -> None:
    created = (
        await create(
            api,
            addresses=[
                {
                    "line1": "12 St James's Square",
                    "city": "London",
                    "postal_code": "SW1Y 4LB",
                    "country": "United Kingdom",
                },
            ],
        )
    ).json()
    assert created["addresses"][0]["country"] == "GB"
    assert created["addresses"][0]["primary"] is True
    moved = await api.patch(
        f"/contacts/{created['id']}",
        headers={**ADA, "If-Match": '"1"'},
        json={"addresses": [{"city": "Boston", "country": "usa"}]},
    )
    assert [a["country"] for a in moved.json()["addresses"]] == ["US"]
    bad = await api.patch(
        f"/contacts/{created['id']}",
        headers={**ADA, "If-Match": '"2"'},
        json={"addresses": [{"city": "Oz", "country": "Oz"}]},
    )
    assert bad.status_code == 422
    assert bad.json()["fields"][0]["field"] == "addresses[0].country"
