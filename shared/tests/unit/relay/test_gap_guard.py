"""The relay never steps over a position that a running transaction may still fill."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from crm_shared.relay.gaps import Decision, GapGuard, Snapshot


def snapshot(xmin: int, xmax: int, *in_progress: int) -> Snapshot:
    return Snapshot(xmin, xmax, frozenset(in_progress))


def test_parses_the_postgresql_text_form() -> None:
    assert Snapshot.parse("100:105:100,103") == snapshot(100, 105, 100, 103)
    assert Snapshot.parse("7:7:") == snapshot(7, 7)


def test_publishes_everything_when_there_is_no_gap() -> None:
    assert GapGuard().decide(0, [1, 2, 3], snapshot(10, 10)) == Decision(3)


def test_stops_at_a_new_gap_and_asks_for_a_horizon() -> None:
    guard = GapGuard()
    assert guard.decide(0, [1, 3, 4], snapshot(10, 12, 11)) == Decision(1, needs_horizon=2)
    assert guard.open_gaps == [2]


def test_a_gap_with_no_transaction_listed_as_running_is_not_yet_permanent() -> None:
    """A running transaction whose id is at or above xmax is not listed: wait for it too."""
    guard = GapGuard()
    assert guard.decide(0, [2, 3], snapshot(20, 20)) == Decision(0, needs_horizon=1)


def test_keeps_waiting_while_a_transaction_below_the_horizon_runs() -> None:
    guard = GapGuard()
    guard.decide(1, [3], snapshot(10, 12, 11))
    guard.set_horizon(2, 15)
    assert guard.decide(1, [3], snapshot(14, 16, 14)) == Decision(0)


def test_steps_over_the_gap_once_everything_below_the_horizon_has_ended() -> None:
    guard = GapGuard()
    guard.decide(1, [3], snapshot(10, 12, 11))
    guard.set_horizon(2, 15)
    assert guard.decide(1, [3, 4], snapshot(15, 17, 16)) == Decision(2)
    assert guard.open_gaps == []


def test_transactions_that_began_after_the_horizon_do_not_hold_the_gap() -> None:
    guard = GapGuard()
    guard.decide(0, [2], snapshot(10, 12, 11))
    guard.set_horizon(1, 13)
    assert guard.decide(0, [2], snapshot(20, 25, 20, 22)) == Decision(1)


def test_a_filled_gap_is_forgotten() -> None:
    guard = GapGuard()
    guard.decide(0, [2], snapshot(10, 12, 11))
    guard.set_horizon(1, 13)
    assert guard.decide(0, [1, 2], snapshot(10, 12, 11)) == Decision(2)
    assert guard.open_gaps == []


@given(
    committed=st.sets(st.integers(1, 60), min_size=1),
    still_running=st.sets(st.integers(1, 60)),
)
def test_never_publishes_past_a_position_held_by_a_running_transaction(
    committed: set[int], still_running: set[int]
) -> None:
    """Holders have ids 1000 + position, below every horizon (>= 2000); listed or not."""
    still_running -= committed
    guard = GapGuard()
    published: list[int] = []
    oldest_running = min((1000 + p for p in still_running), default=None)
    for round_ in range(130):  # the relay's polling loop
        unpublished = [p for p in sorted(committed) if p > max(published, default=0)]
        xmin = oldest_running if oldest_running is not None else 3000 + round_
        decision = guard.decide(max(published, default=0), unpublished, snapshot(xmin, 3000))
        published += unpublished[: decision.publishable]
        if decision.needs_horizon is not None:
            guard.set_horizon(decision.needs_horizon, 2000 + round_)
    if still_running:
        # While any transaction below the horizons runs, no hole is stepped over.
        assert max(published, default=0) < min(still_running)
        assert published == [p for i, p in enumerate(sorted(committed), start=1) if p == i]
    else:
        assert published == sorted(committed)  # nothing can fill the holes any more
