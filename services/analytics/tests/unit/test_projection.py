"""What each event means for the read models, without a database."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

from crm_analytics.domain.projection import Entry, Facts, Merge, project
from crm_shared.contracts import contacts as c
from crm_shared.contracts import sales as s
from crm_shared.contracts import support as su
from crm_shared.privacy.sealing import SubjectCipher, new_data_key

AT = datetime(2026, 11, 24, 10, tzinfo=UTC)


def test_a_contact_brings_its_non_personal_facts_and_never_its_sealed_words() -> None:
    sealed = SubjectCipher("c-1", new_data_key()).seal({"last_name": "Lovelace"})
    created = c.ContactCreated(contact_id="c-1", personal=sealed, lifecycle_stage="customer")
    changes = project(created, AT)
    [facts] = [x for x in changes if isinstance(x, Facts)]
    assert facts.values["lifecycle_stage"] == "customer"
    assert sealed.ciphertext not in json.dumps([vars(x) for x in changes], default=str)


def test_an_update_of_personal_fields_names_no_value() -> None:
    sealed = SubjectCipher("c-1", new_data_key()).seal({"last_name": {"new": "Byron"}})
    updated = c.ContactUpdated(contact_id="c-1", personal_changes=sealed)
    [facts, entry] = project(updated, AT)
    assert isinstance(facts, Facts)
    assert facts.values == {}
    assert isinstance(entry, Entry)
    assert entry.details == {"fields": ["personal details"]}


def test_moving_an_opportunity_to_another_contact_re_links_it() -> None:
    updated = s.OpportunityUpdated(
        opportunity_id="o-1",
        changes={
            "contact_id": s.FieldChange(old="c-1", new="c-2"),
            "amount": s.FieldChange(old="1", new="2.5"),
        },
    )
    facts = project(updated, AT)[0]
    assert isinstance(facts, Facts)
    assert (facts.contact_id, facts.values) == ("c-2", {"amount": "2.5"})


def test_money_stays_exact() -> None:
    won = s.OpportunityWon(opportunity_id="o-1", amount=Decimal("0.1000"), currency="EUR")
    facts = project(won, AT)[0]
    assert isinstance(facts, Facts)
    assert facts.values["amount"] == "0.1000"


def test_a_resolved_case_records_when() -> None:
    resolved = su.CaseStatusChanged(case_id="k-1", old="open", new="resolved", at=AT)
    facts = project(resolved, AT)[0]
    assert isinstance(facts, Facts)
    assert facts.values == {"status": "resolved", "resolved_at": AT.isoformat()}


def test_a_merge_is_told_from_both_sides() -> None:
    into = c.ContactMergedInto(contact_id="c-2", survivor_id="c-1")
    merged = c.ContactMerged(contact_id="c-1", merged_contact_id="c-2", winners={})
    assert Merge("c-1", "c-2") in project(into, AT)
    assert Merge("c-1", "c-2") in project(merged, AT)


def test_events_of_no_interest_change_nothing() -> None:
    assert project(su.CaseErased(case_id="k-1"), AT) == []
