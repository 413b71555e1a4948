"""A lead's conversion as its events tell it: only a qualified lead starts one, the plan is
checked first, each step is recorded once, and a failed conversion leaves the lead qualified
for another attempt."""

from __future__ import annotations

import pytest

from crm_sales.application.conversion import (
    contact_of,
    idempotency_key,
    opportunity_id_for,
    retry_delay,
)
from crm_sales.domain.errors import InvalidValue, LeadIsClosed
from crm_sales.domain.lead import Lead
from crm_shared.contracts.sales import LeadConversionStepDone
from crm_shared.privacy import SubjectCipher, new_data_key

KEY = SubjectCipher("l-1", new_data_key())
PLAN = {
    "pipeline_id": "new",
    "amount": "5000",
    "currency": "usd",
    "expected_close_date": "2027-01-31",
}


def qualified() -> Lead:
    lead = Lead.capture(
        "l-1", {"last_name": "Hopper", "email": "grace@navy.mil", "company": "Navy"}, "api", KEY
    )
    lead.assign("ada", None, "manual")
    lead.qualify({"need": "compilers", "authority": True})
    return Lead.from_history("l-1", lead.pending, KEY)


def replayed(lead: Lead) -> Lead:
    return Lead.from_history("l-1", lead.pending, KEY)


def test_a_plan_defaults_to_the_leads_company_and_owner() -> None:
    lead = qualified()
    lead.start_conversion(PLAN)

    plan = lead.state["conversion"]["plan"]
    assert lead.status == "converting"
    assert plan["account_name"] == "Navy"
    assert plan["opportunity_name"] == "Navy"
    assert plan["owner_id"] == "ada"
    assert plan["currency"] == "USD"
    assert lead.state["conversion"]["attempt"] == 1


def test_only_a_qualified_lead_converts_and_once_at_a_time() -> None:
    new = Lead.capture("l-1", {"last_name": "Hopper", "phone": "+16502530000"}, "api", KEY)
    with pytest.raises(LeadIsClosed):
        new.start_conversion(PLAN)
    lead = qualified()
    lead.start_conversion(PLAN)
    with pytest.raises(LeadIsClosed):
        lead.start_conversion(PLAN)
    with pytest.raises(LeadIsClosed):
        lead.assign("bob", None, "manual")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"pipeline_id": ""}, "pipeline_id"),
        ({"currency": "euro"}, "currency"),
        ({"amount": 12.5}, "amount"),
        ({"expected_close_date": "soon"}, "expected_close_date"),
    ],
)
def test_a_bad_plan_names_its_field(change: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidValue) as refused:
        qualified().start_conversion({**PLAN, **change})
    assert refused.value.field == field


def test_a_lead_without_company_needs_the_account_named() -> None:
    lead = Lead.capture("l-1", {"last_name": "Hopper", "email": "g@navy.mil"}, "api", KEY)
    lead.qualify({"need": "compilers"})
    with pytest.raises(InvalidValue) as refused:
        replayed(lead).start_conversion(PLAN)
    assert refused.value.field == "account_name"


def test_each_step_is_recorded_once_and_the_end_names_all_three() -> None:
    lead = qualified()
    lead.start_conversion(PLAN)
    lead.conversion_step("account", "a-1")
    lead.conversion_step("account", "a-2")  # a replayed step changes nothing
    lead.conversion_step("contact", "c-1")
    lead.converted("o-1")

    steps = [e for e in lead.pending if isinstance(e, LeadConversionStepDone)]
    assert [(s.step, s.resource_id) for s in steps] == [("account", "a-1"), ("contact", "c-1")]
    after = replayed(lead)
    assert after.status == "converted"
    assert {k: after.state["conversion"][k] for k in ("account", "contact", "opportunity")} == {
        "account": "a-1",
        "contact": "c-1",
        "opportunity": "o-1",
    }


def test_a_failed_conversion_leaves_the_lead_qualified_for_a_new_attempt() -> None:
    lead = qualified()
    lead.start_conversion(PLAN)
    lead.conversion_step("account", "a-1")
    lead.conversion_failed("contacts refused", ["a-1"])
    assert lead.status == "qualified"
    assert lead.state["conversion"]["failed"] == {
        "reason": "contacts refused",
        "compensated": ["a-1"],
    }

    lead.start_conversion(PLAN)

    assert replayed(lead).state["conversion"]["attempt"] == 2
    assert "account" not in lead.state["conversion"]


def test_each_attempt_has_its_own_keys_and_opportunity() -> None:
    assert idempotency_key("l-1", 1, "account") != idempotency_key("l-1", 2, "account")
    assert opportunity_id_for("l-1", 1) == opportunity_id_for("l-1", 1)
    assert opportunity_id_for("l-1", 1) != opportunity_id_for("l-1", 2)


def test_waiting_grows_to_ten_minutes_at_most() -> None:
    delays = [retry_delay(n).total_seconds() for n in range(12)]
    assert delays[:3] == [5, 10, 20]
    assert max(delays) == 600
    assert delays == sorted(delays)


def test_the_contact_is_the_leads_person_at_the_new_account() -> None:
    lead = qualified()
    lead.start_conversion(PLAN)
    contact = contact_of(lead, lead.state["conversion"]["plan"], "a-1")
    assert contact["last_name"] == "Hopper"
    assert contact["emails"] == ["grace@navy.mil"]
    assert contact["works_at"] == {"account_id": "a-1"}
    assert contact["source"] == "lead:l-1"
