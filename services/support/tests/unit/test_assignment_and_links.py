"""Who takes a case, and the signed survey link."""

from __future__ import annotations

import pytest

from crm_support.domain.assignment import choose, define_queue
from crm_support.domain.errors import InvalidValue, SurveyLinkInvalid
from crm_support.domain.survey_links import read_survey_token, survey_token

MEMBERS = [
    {"user_id": "ann", "skills": ["billing", "german"]},
    {"user_id": "bob", "skills": ["billing"]},
    {"user_id": "cat", "skills": ["german"]},
]


def queue(strategy: str, required_skill: str | None = None):  # type: ignore[no-untyped-def]
    defined = define_queue("t", "q", "Tier 1", strategy, required_skill, MEMBERS, None)
    assert defined is not None
    return defined


def test_round_robin_takes_turns_among_those_with_the_skill() -> None:
    billing = queue("round_robin", "billing")
    assert [choose(billing, None, turn, {}) for turn in range(4)] == ["ann", "bob", "ann", "bob"]
    assert choose(billing, "german", 1, {}) == "cat"


def test_least_load_picks_the_member_with_fewest_open_cases() -> None:
    least = queue("least_load")
    assert choose(least, None, 0, {"ann": 3, "bob": 1, "cat": 2}) == "bob"
    assert choose(least, None, 0, {"ann": 1, "bob": 1, "cat": 1}) == "ann"  # ties: list order
    assert choose(least, "german", 0, {"ann": 3, "cat": 2}) == "cat"


def test_nobody_with_the_skill_leaves_the_case_in_the_queue() -> None:
    assert choose(queue("round_robin"), "french", 0, {}) is None


def test_a_queue_definition_is_checked() -> None:
    with pytest.raises(InvalidValue):
        define_queue("t", "q", "Q", "random", None, MEMBERS, None)
    with pytest.raises(InvalidValue):
        define_queue("t", "q", "Q", "round_robin", None, [*MEMBERS, {"user_id": "ann"}], None)
    same = queue("round_robin")
    assert define_queue("t", "q", "Tier 1", "round_robin", None, MEMBERS, same) is None


def test_a_survey_link_opens_only_its_own_case() -> None:
    secret = b"s" * 32
    token = survey_token(secret, "tenant-a", "case-1")
    assert read_survey_token(secret, token) == ("tenant-a", "case-1")
    subject, signature = token.split(".")
    forged = survey_token(secret, "tenant-a", "case-2").split(".")[0] + "." + signature
    for bad in (forged, subject, token + "x", survey_token(b"k" * 32, "tenant-a", "case-1")):
        with pytest.raises(SurveyLinkInvalid):
            read_survey_token(secret, bad)
