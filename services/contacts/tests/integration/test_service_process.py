"""The contacts service as `./crm up` runs it: its own process, migrations, relay, SIGTERM."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from pathlib import Path

import pytest

from crm_devstack.services import SERVICES, ServiceProcess
from crm_devstack.subscriber import records_keyed, subscribe_from_now

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def post_json(url: str, body: dict[str, object], headers: dict[str, str]) -> dict[str, object]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", **headers},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 201
        loaded: dict[str, object] = json.load(response)
        return loaded


async def test_the_running_service_publishes_what_it_writes(
    tmp_path: Path,
    kafka_bootstrap: str,
    database_url: str,
    unique_name: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CONTACTS_DB_SCHEMA", unique_name)
    monkeypatch.setenv("CRM_RELAY_POLL_INTERVAL_MS", "10")
    [spec] = [s for s in SERVICES if s.name == "contacts"]
    service = ServiceProcess(tmp_path / "contacts", spec)
    await asyncio.to_thread(service.start, kafka_bootstrap, database_url)
    subscriber = await subscribe_from_now(kafka_bootstrap, "crm.contacts.events")
    try:
        created = await asyncio.to_thread(
            post_json,
            f"{service.url}/contacts",
            {"last_name": "Hopper"},
            {"X-Tenant-Id": "t1", "X-Actor-Id": "grace"},
        )
        found = await records_keyed(subscriber, str(created["id"]).encode(), expected=1)
        assert len(found) == 1
        assert dict(found[0].headers)["ce_type"] == b"crm.contacts.contact.created"
        await subscriber.stop()
    finally:
        await asyncio.to_thread(service.stop)
    assert not service.is_running()
