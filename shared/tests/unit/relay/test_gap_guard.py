"""The relay never steps over a position that an in-flight transaction may still fill."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from crm_shared.relay.gaps import GapGuard, Snapshot


def snapshot(xmin: int, xmax: int, *in_progress: int) -> Snapshot:
    return Snapshot(xmin, xmax, frozenset(in_progress))


def test_parses_the_postgresql_text_form() -> None:
    assert Snapshot.parse("100:105:100,103") == snapshot(100, 105, 100, 103)
    assert Snapshot.parse("7:7:") == snapshot(7, 7)


def test_a_transaction_is_finished_when_below_xmin_or_absent_from_the_in_progress_list() -> None:
    snap = snapshot(100, 105, 100, 103)
    assert snap.has_finished(99)
    assert not snap.has_finished(100)
    assert snap.has_finished(101)
    assert not snap.has_finished(103)
    assert not snap.has_finished(105)


def test_publishes_everything_when_there_is_no_gap() -> None:
    guard = GapGuard()
    assert guard.publishable(0, [1, 2, 3], snapshot(10, 10)) == 3


def test_stops_before_a_gap_that_a_running_transaction_may_fill() -> None:
    guard = GapGuard()
    assert guard.publishable(0, [1, 3, 4], snapshot(10, 12, 11)) == 1
    assert guard.open_gaps == [2]


def test_keeps_waiting_while_the_blocking_transaction_runs() -> None:
    guard = GapGuard()
    guard.publishable(1, [3], snapshot(10, 12, 11))
    assert guard.publishable(1, [3], snapshot(11, 14, 11, 13)) == 0


def test_steps_over_a_gap_once_every_blocking_transaction_has_finished() -> None:
    guard = GapGuard()
    guard.publishable(1, [3], snapshot(10, 12, 11))
    assert guard.publishable(1, [3, 4], snapshot(13, 14, 13)) == 2
    assert guard.open_gaps == []


def test_a_gap_seen_with_no_transaction_in_progress_is_permanent_at_once() -> None:
    guard = GapGuard()
    assert guard.publishable(0, [2, 3], snapshot(20, 20)) == 2


def test_a_filled_gap_is_forgotten() -> None:
    guard = GapGuard()
    guard.publishable(0, [2], snapshot(10, 12, 11))
    assert guard.publishable(0, [1, 2], snapshot(10, 12, 11)) == 2
    assert guard.open_gaps == []


def test_transactions_that_started_after_the_gap_was_seen_do_not_block_it() -> None:
    guard = GapGuard()
    guard.publishable(0, [2], snapshot(10, 12, 11))
    # 11 finished; 12 and 13 started later and are irrelevant to the gap at 1.
    assert guard.publishable(0, [2], snapshot(12, 14, 12, 13)) == 1


@given(
    committed=st.sets(st.integers(1, 60), min_size=1),
    in_flight=st.sets(st.integers(1, 60)),
)
def test_never_publishes_past_a_position_held_by_an_in_flight_transaction(
    committed: set[int], in_flight: set[int]
) -> None:
    """Positions held by running transactions (xid = 1000 + position) are never overtaken."""
    in_flight -= committed
    visible = sorted(committed)
    snap = snapshot(1000, 2000, *(1000 + p for p in in_flight))
    count = GapGuard().publishable(0, visible, snap)
    published = visible[:count]
    if published and in_flight:
        assert max(published) < min(in_flight)
    if not in_flight:
        assert published == visible  # nothing can fill the holes any more
    else:
        # Any running transaction might hold a hole: stop at the first one.
        assert published == [p for i, p in enumerate(visible, start=1) if p == i]
