"""Decoding what the topics carry: a type no source knows is passed over, not dead-lettered."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from crm_analytics.domain.sources import SOURCES, decode
from crm_shared.contracts.support import CaseErased
from crm_shared.events import EventEnvelope


def envelope(event_type: str, data: dict[str, object]) -> EventEnvelope:
    return EventEnvelope(
        id=str(uuid.uuid4()),
        source="/crm/future",
        type=event_type,
        time=datetime.now(UTC),
        dataschema=f"urn:crm:schema:{event_type}:v1",
        data=data,
        tenantid="t",
        actor="a",
        correlationid="c",
        streamid="s",
        streamversion=1,
        partitionkey="k",
    )


def test_every_service_topic_is_a_source() -> None:
    assert set(SOURCES) == {"contacts", "sales", "support"}


def test_a_known_type_decodes_to_its_contract() -> None:
    assert decode(envelope(CaseErased.event_type, {"case_id": "k-1"})) == CaseErased(case_id="k-1")


def test_an_unknown_type_is_passed_over() -> None:
    assert decode(envelope("crm.marketing.campaign.sent", {"campaign_id": "x"})) is None
