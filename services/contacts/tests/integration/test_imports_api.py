"""CSV imports against the real database and broker: mapping checks, dry runs with line
numbers, duplicates handled as asked, idempotent re-runs, and a crashed import resumed."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_contacts.application import imports
from crm_contacts.application.handlers import ContactHandlers
from crm_contacts.application.imports import ImportHandlers
from crm_contacts.bootstrap import TOPIC
from crm_devstack.subscriber import records_keyed, subscribe_from_now
from crm_shared.eventstore import EventStore
from crm_shared.privacy import KeyEncryptionKey
from crm_shared.privacy.keystore import SubjectKeyStore
from crm_shared.relay import OutboxRelay, RelayConfig

from .conftest import ADA

pytestmark = pytest.mark.integration

MAPPING = {
    "First": "first_name",
    "Last": "last_name",
    "E-mail": "emails",
    "Phone": "phone",
    "Country": "address.country",
    "Tags": "tags",
}
GOOD_AND_BAD = (
    "\ufeffFirst,Last,E-mail,Phone,Country,Tags\n"  # a BOM, as spreadsheets write it
    "Ada,Lovelace,ada@example.com,+44 20 7183 8750,GB,vip;math\n"
    "Grace,Hopper,not-an-email,,US,\n"  # line 3: bad email
    '"Mary ""Ann""",Evans,"mary@example.org;george@example.org",,United Kingdom,"lit;\npoetry"\n'
    ",,nobody@example.com,,,\n"  # line 6: no last name
    "Alan,Turing,alan@example.com,12,GB,\n"  # line 7: bad phone
    "Edsger,Dijkstra,edsger@example.com,,NL,\n"
)


def importer(engine: AsyncEngine, schema: str, kek: str, worker: str = "w1") -> ImportHandlers:
    store = EventStore(engine, schema)
    keys = SubjectKeyStore(schema, KeyEncryptionKey.from_base64(kek))
    return ImportHandlers(store, keys, ContactHandlers(store, keys), worker_id=worker)


async def upload(
    api: httpx.AsyncClient,
    content: str,
    mapping: dict[str, str] = MAPPING,
    **form: str,
) -> httpx.Response:
    return await api.post(
        "/imports",
        files={"file": ("contacts.csv", content.encode(), "text/csv")},
        data={"mapping": json.dumps(mapping), **form},
        headers=ADA,
    )


async def finished(
    api: httpx.AsyncClient, worker: ImportHandlers, response: httpx.Response
) -> dict[str, Any]:
    assert response.status_code == 202, response.text
    assert await worker.run_once()
    status = await api.get(response.headers["Location"], headers=ADA)
    return dict(status.json())


async def contacts(api: httpx.AsyncClient) -> list[dict[str, Any]]:
    page = await api.get("/contacts", params={"limit": 500}, headers=ADA)
    return list(page.json()["items"])


@pytest.mark.parametrize(
    ("mapping", "field"),
    [
        ({"Last": "surname"}, "mapping.Last"),
        ({"First": "first_name"}, "mapping"),
        ({"Last": "last_name", "Nope": "first_name"}, "mapping.Nope"),
    ],
)
async def test_a_bad_mapping_is_a_422_naming_it(
    api: httpx.AsyncClient, mapping: dict[str, str], field: str
) -> None:
    response = await upload(api, GOOD_AND_BAD, mapping)
    assert response.status_code == 422
    assert response.json()["fields"][0]["field"] == field


async def test_a_dry_run_reports_every_bad_row_by_line_and_writes_no_contact(
    api: httpx.AsyncClient, engine: AsyncEngine, contacts_schema: str, key_encryption_key: str
) -> None:
    worker = importer(engine, contacts_schema, key_encryption_key)
    status = await finished(api, worker, await upload(api, GOOD_AND_BAD, mode="dry_run"))

    assert (status["status"], status["rows_done"]) == ("completed", 6)
    assert (status["created"], status["failed"]) == (3, 3)
    errors = (await api.get(f"/imports/{status['id']}/errors", headers=ADA)).json()
    assert [(e["line"], e["field"]) for e in errors] == [
        (3, "email"),
        (6, "last_name"),
        (7, "phone"),
    ]
    assert await contacts(api) == []


async def test_an_import_creates_contacts_that_subscribers_receive(
    api: httpx.AsyncClient,
    engine: AsyncEngine,
    contacts_schema: str,
    key_encryption_key: str,
    kafka_bootstrap: str,
) -> None:
    worker = importer(engine, contacts_schema, key_encryption_key)
    subscriber = await subscribe_from_now(kafka_bootstrap, TOPIC)
    try:
        status = await finished(api, worker, await upload(api, GOOD_AND_BAD))
        relay = OutboxRelay(
            engine, RelayConfig(contacts_schema, TOPIC, "/crm/contacts", kafka_bootstrap)
        )
        try:
            while await relay.publish_next_batch():
                pass
        finally:
            await relay.close()
        people = {c["last_name"]: c for c in await contacts(api)}
        received = await records_keyed(subscriber, people["Evans"]["id"].encode(), expected=1)
    finally:
        await subscriber.stop()

    assert (status["created"], status["failed"]) == (3, 3)
    assert sorted(people) == ["Dijkstra", "Evans", "Lovelace"]
    evans = people["Evans"]
    assert evans["first_name"] == 'Mary "Ann"'
    assert [e["address"] for e in evans["emails"]] == ["mary@example.org", "george@example.org"]
    assert evans["addresses"][0]["country"] == "GB"
    assert people["Lovelace"]["phones"][0]["number"] == "+442071838750"
    assert people["Lovelace"]["tags"] == ["math", "vip"]
    assert evans["tags"] == ["lit", "poetry"]  # a quoted cell over two lines
    assert [r.headers for r in received]  # published like any other creation
    assert dict(received[0].headers)["ce_type"] == b"crm.contacts.contact.created"
    assert dict(received[0].headers)["ce_correlationid"] == status["id"].encode()


async def test_the_same_file_again_creates_nothing_twice(
    api: httpx.AsyncClient, engine: AsyncEngine, contacts_schema: str, key_encryption_key: str
) -> None:
    worker = importer(engine, contacts_schema, key_encryption_key)
    await finished(api, worker, await upload(api, GOOD_AND_BAD))
    again = await finished(api, worker, await upload(api, GOOD_AND_BAD))
    assert (again["created"], again["unchanged"], again["failed"]) == (0, 3, 3)
    assert len(await contacts(api)) == 3


@pytest.mark.parametrize(
    ("on_duplicate", "expected_contacts", "counts"),
    [
        ("skip", 1, {"skipped": 1}),
        ("update", 1, {"updated": 1}),
        ("create", 2, {"created": 1}),
    ],
)
async def test_duplicates_are_skipped_updated_or_created_as_asked(
    api: httpx.AsyncClient,
    engine: AsyncEngine,
    contacts_schema: str,
    key_encryption_key: str,
    on_duplicate: str,
    expected_contacts: int,
    counts: dict[str, int],
) -> None:
    existing = await api.post(
        "/contacts", json={"last_name": "Lovelace", "emails": ["ada@example.com"]}, headers=ADA
    )
    assert existing.status_code == 201
    worker = importer(engine, contacts_schema, key_encryption_key)
    csv_text = "First,Last,E-mail\nAugusta,Lovelace,ADA@example.com\n"
    status = await finished(
        api,
        worker,
        await upload(
            api,
            csv_text,
            {"First": "first_name", "Last": "last_name", "E-mail": "email"},
            on_duplicate=on_duplicate,
        ),
    )
    assert {k: status[k] for k in counts} == counts
    everyone = await contacts(api)
    assert len(everyone) == expected_contacts
    if on_duplicate == "update":
        assert everyone[0]["first_name"] == "Augusta"


async def test_a_crashed_import_is_resumed_by_another_worker_without_duplicates(
    api: httpx.AsyncClient,
    engine: AsyncEngine,
    contacts_schema: str,
    key_encryption_key: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rows = "\n".join(f"P{i},Person{i},p{i}@example.com" for i in range(10))
    response = await upload(
        api,
        f"First,Last,E-mail\n{rows}\n",
        {"First": "first_name", "Last": "last_name", "E-mail": "email"},
    )
    monkeypatch.setattr(imports, "BATCH_ROWS", 3)
    first = importer(engine, contacts_schema, key_encryption_key, worker="doomed")
    calls = 0
    original = first._apply

    async def dies_after_two_batches(*args: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise ConnectionResetError("the process died")  # not a bad file: the job stays
        await original(*args)

    monkeypatch.setattr(first, "_apply", dies_after_two_batches)
    with pytest.raises(ConnectionResetError):
        await first.run_once()
    midway = (await api.get(response.headers["Location"], headers=ADA)).json()
    assert (midway["status"], midway["rows_done"], midway["created"]) == ("running", 6, 6)

    async with engine.begin() as connection:  # the dead worker's lease runs out
        await connection.execute(
            text(f"UPDATE \"{contacts_schema}\".imports SET lease_until = now() - interval '1 s'")
        )
    second = importer(engine, contacts_schema, key_encryption_key, worker="heir")
    assert await second.run_once()

    done = (await api.get(response.headers["Location"], headers=ADA)).json()
    assert (done["status"], done["rows_done"], done["created"]) == ("completed", 10, 10)
    names = sorted(c["last_name"] for c in await contacts(api))
    assert names == sorted(f"Person{i}" for i in range(10))
    async with engine.connect() as connection:
        chunks = await connection.scalar(
            text(f'SELECT count(*) FROM "{contacts_schema}".import_chunks')
        )
    assert chunks == 0  # the file (personal data) is gone once imported
    assert uuid.UUID(done["id"])
