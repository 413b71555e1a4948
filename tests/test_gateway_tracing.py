"""A request through the gateway is one trace: the service's span is the child of the
gateway's (the trace then runs on through Kafka into every consumer, as
shared/tests/integration/test_tracing.py shows)."""

from __future__ import annotations

import base64
import os

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from crm_contacts import bootstrap as contacts
from crm_contacts.config import ContactsSettings
from crm_devstack.serving import serving
from crm_gateway.bootstrap import build_app
from crm_gateway.config import GatewaySettings
from crm_shared.eventstore import upgrade
from crm_shared.settings import PlatformSettings

pytestmark = pytest.mark.integration


async def test_the_service_span_is_a_child_of_the_gateway_span(
    global_spans: InMemorySpanExporter,
    engine: AsyncEngine,
    database_url: str,
    kafka_bootstrap: str,
    unique_name: str,
) -> None:
    await upgrade(database_url, unique_name, contacts.MIGRATIONS)
    platform = PlatformSettings(
        DATABASE_URL=database_url,
        KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap,  # type: ignore[call-arg]
    )
    key = SecretStr(base64.b64encode(os.urandom(32)).decode())
    contacts_app = contacts.build_app(
        platform,
        ContactsSettings(
            db_schema=unique_name, run_relay=False, run_importer=False, key_encryption_key=key
        ),
        engine,
    )
    async with serving({"contacts": contacts_app}) as urls:  # it sees only what it receives
        gateway = build_app(platform, GatewaySettings(contacts_url=urls["contacts"]))
        global_spans.clear()
        async with (
            gateway.router.lifespan_context(gateway),
            httpx.AsyncClient(
                transport=httpx.ASGITransport(app=gateway), base_url="http://gateway"
            ) as api,
        ):
            made = await api.post(
                "/contacts",
                json={"last_name": "Hopper"},
                headers={"X-Tenant-Id": "acme", "X-Actor-Id": "ada"},
            )
    assert made.status_code == 201, made.text
    servers = [s for s in global_spans.get_finished_spans() if s.kind == SpanKind.SERVER]
    assert len(servers) == 2, [(s.name, s.kind) for s in global_spans.get_finished_spans()]
    outer, inner = sorted(servers, key=lambda s: s.start_time or 0)
    assert outer.context is not None
    assert inner.context is not None
    assert inner.context.trace_id == outer.context.trace_id
    assert inner.parent is not None
    assert inner.parent.span_id == outer.context.span_id
