"""Leads: captured with their person sealed, routed, qualified or disqualified, erasable."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from crm_sales.domain.errors import InvalidValue, LeadIsClosed
from crm_sales.domain.lead import Lead
from crm_sales.domain.routing import define_routing, route
from crm_sales.domain.spam_guard import (
    TooManySubmissions,
    check_rate,
    check_timing,
    looks_like_a_bot,
)
from crm_shared.contracts.sales import REGISTRY
from crm_shared.privacy import SubjectCipher, new_data_key

KEY = SubjectCipher("l-1", new_data_key())
DETAILS = {
    "first_name": "Grace",
    "last_name": "Hopper",
    "email": "Grace@Navy.MIL",
    "phone": "+1 650 253 0000",
    "company": "Navy",
    "country": "United States",
    "notes": "met at the conference",
}


def captured() -> Lead:
    lead = Lead.capture("l-1", DETAILS, "api", KEY)
    return Lead.from_history("l-1", lead.pending, KEY)


def test_a_lead_is_normalised_and_its_person_never_in_the_clear() -> None:
    lead = Lead.capture("l-1", DETAILS, "api", KEY)
    written = json.dumps([REGISTRY.encode(e)[2] for e in lead.pending])
    assert "Hopper" not in written
    assert "grace@navy.mil" not in written
    assert "US" in written
    assert lead.state["email"] == "grace@navy.mil"
    assert lead.state["phone"] == "+16502530000"


@pytest.mark.parametrize(
    ("details", "field"),
    [
        ({"last_name": ""}, "last_name"),
        ({"last_name": "X"}, "email"),
        ({"last_name": "X", "email": "nope"}, "email"),
        ({"last_name": "X", "phone": "12"}, "phone"),
        ({"last_name": "X", "email": "a@b.org", "country": "Atlantis"}, "country"),
    ],
)
def test_bad_leads_name_the_field(details: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        Lead.capture("l-1", details, "api", KEY)
    assert refused.value.field == field


def test_qualification_and_disqualification() -> None:
    lead = captured()
    lead.qualify({"budget": "50000", "budget_currency": "usd", "authority": True, "need": "CRM"})
    assert lead.status == "qualified"
    assert lead.state["qualification"]["budget_currency"] == "USD"
    with pytest.raises(InvalidValue, match="budget_currency"):
        lead.qualify({"budget": "1", "authority": False, "need": "x"})
    lead.disqualify("no_budget", "frozen until next year")
    with pytest.raises(LeadIsClosed):
        lead.assign("someone", None, "manual")
    with pytest.raises(InvalidValue, match="reason"):
        captured().disqualify("bored", None)


def test_an_erased_lead_replays_without_its_person() -> None:
    lead = captured()
    assert lead.erase()
    erased = Lead.from_history("l-1", lead.pending, SubjectCipher("l-1", None, erased=True))
    assert lead.erase() is False
    history = Lead.capture("l-1", DETAILS, "api", KEY).pending + lead.pending
    replayed = Lead.from_history("l-1", history, SubjectCipher("l-1", None, erased=True))
    assert replayed.erased
    assert replayed.state["last_name"] is None
    assert replayed.state["company"] == "Navy"
    assert erased.erased


def test_territory_rules_come_first_then_round_robin() -> None:
    routing = define_routing(
        "t",
        [{"country": "de", "team_id": "dach"}, {"region": "Texas", "owner_id": "tex"}],
        "inside",
        {"dach", "inside"},
    )
    assert route(routing, "DE", None).team_id == "dach"  # type: ignore[union-attr]
    assert route(routing, "US", "texas").owner_id == "tex"  # type: ignore[union-attr]
    assert route(routing, "FR", None).team_id == "inside"  # type: ignore[union-attr]
    assert route(None, "FR", None) is None
    with pytest.raises(InvalidValue, match="team"):
        define_routing("t", [{"country": "DE", "team_id": "ghost"}], None, set())


def test_the_spam_guard() -> None:
    now = datetime.now(UTC)
    assert looks_like_a_bot("http://spam.example")
    assert not looks_like_a_bot("  ")
    check_timing(now - timedelta(seconds=10), now)
    with pytest.raises(InvalidValue, match="too fast"):
        check_timing(now - timedelta(seconds=1), now)
    with pytest.raises(InvalidValue, match="stale"):
        check_timing(now - timedelta(days=2), now)
    check_rate(4)
    with pytest.raises(TooManySubmissions):
        check_rate(5)
