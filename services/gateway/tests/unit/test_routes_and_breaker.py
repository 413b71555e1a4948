"""Where a public path goes, who may call it, and when a service's circuit opens."""

from __future__ import annotations

from crm_gateway.domain.breaker import CircuitBreaker
from crm_gateway.domain.routes import route
from crm_shared.auth.access import RESOURCE_ACCESS, allowed


def test_a_path_goes_to_the_service_owning_its_first_segment() -> None:
    assert route("/contacts/123/history") is not None
    assert route("/contacts/123/history").service == "contacts"  # type: ignore[union-attr]
    assert route("cases").service == "support"  # type: ignore[union-attr]
    assert route("/kpis/sales").service == "analytics"  # type: ignore[union-attr]
    assert route("/nowhere") is None
    assert route("/") is None


def test_public_paths_need_no_token_and_name_their_service() -> None:
    survey = route("/public/surveys/abc")
    assert survey is not None
    assert (survey.service, survey.public) == ("support", True)
    assert route("/public/web-forms/f1").service == "sales"  # type: ignore[union-attr]
    assert route("/public/unknown") is None


def test_reading_and_changing_need_different_roles() -> None:
    cases = RESOURCE_ACCESS["cases"]
    assert allowed(cases, "GET", frozenset({"sales"}))
    assert not allowed(cases, "POST", frozenset({"sales"}))
    assert allowed(cases, "POST", frozenset({"support"}))
    assert allowed(cases, "DELETE", frozenset({"admin"}))
    assert not allowed(RESOURCE_ACCESS["opportunities"], "GET", frozenset({"support"}))
    assert not allowed(RESOURCE_ACCESS["admin"], "GET", frozenset({"analyst"}))


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_circuit_opens_after_failures_and_tries_once_after_a_while() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failures=3, reset_s=10, clock=clock)
    for _ in range(2):
        assert breaker.allow()
        breaker.failed()
    assert breaker.state == "closed"
    breaker.failed()
    assert breaker.state == "open"
    assert not breaker.allow()
    clock.now = 10
    assert breaker.state == "half_open"
    assert breaker.allow()  # one trial
    assert not breaker.allow()  # and only one
    breaker.failed()
    assert breaker.state == "open"
    clock.now = 20
    assert breaker.allow()
    breaker.succeeded()
    assert breaker.state == "closed"
    assert breaker.allow()


def test_a_success_resets_the_count_of_failures() -> None:
    breaker = CircuitBreaker(failures=2, reset_s=10, clock=Clock())
    breaker.failed()
    breaker.succeeded()
    breaker.failed()
    assert breaker.state == "closed"
