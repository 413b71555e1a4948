"""Which read events may be published without skipping one that is still being written.

Positions come from an identity sequence, drawn while a transaction runs but made visible only
when it commits, so the log can show position 11 while 10 is still uncommitted. Publishing 11
and moving on would lose 10 for good. A missing position is either held by a transaction still
running or a permanent hole (the transaction rolled back, or an append lost a version race).

Every unit of work takes its transaction id in the round trip of its BEGIN, before it can draw
a position (``eventstore.store``). So when the relay first sees a gap, every transaction that
could fill it already has an id, below a *horizon*: an id the relay has assigned to itself
right after that read. Once a snapshot's ``xmin`` (the oldest id still running) reaches the
horizon, all of them have ended, and whatever is still missing is permanent.

A snapshot's in-progress list alone is not enough: PostgreSQL lists only ids below its
``xmax``, which is one past the latest *completed* id, so a transaction that took its id after
the latest commit runs unlisted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A PostgreSQL ``pg_snapshot``: no transaction below ``xmin`` is still running."""

    xmin: int
    xmax: int
    in_progress: frozenset[int]

    @classmethod
    def parse(cls, text: str) -> Snapshot:
        """Parse the text form ``xmin:xmax:xip1,xip2,...``."""
        xmin, xmax, xip = text.split(":")
        in_progress = frozenset(int(x) for x in xip.split(",") if x)
        return cls(int(xmin), int(xmax), in_progress)

    def all_ended_below(self, horizon: int) -> bool:
        """Whether every transaction with an id below ``horizon`` has committed or aborted."""
        return self.xmin >= horizon


@dataclass(frozen=True, slots=True)
class Decision:
    publishable: int
    """How many of the positions read may be published now."""
    needs_horizon: int | None = None
    """A gap seen for the first time: the relay must call ``GapGuard.set_horizon`` for it."""


class GapGuard:
    """Remembers, for each gap seen, the horizon its possible fillers lie below."""

    def __init__(self) -> None:
        self._horizons: dict[int, int | None] = {}

    @property
    def open_gaps(self) -> list[int]:
        return sorted(self._horizons)

    def decide(self, last_published: int, positions: Sequence[int], snapshot: Snapshot) -> Decision:
        """What of ``positions`` (ascending, read in ``snapshot``) may be published now.

        Everything before the first gap that may still be filled is publishable; gaps proven
        permanent are stepped over.
        """
        expected = last_published + 1
        count = 0
        for position in positions:
            if position != expected:
                horizon = self._horizons.get(expected)
                if horizon is None:
                    self._horizons[expected] = None
                    self._forget_before(expected)
                    return Decision(count, needs_horizon=expected)
                if not snapshot.all_ended_below(horizon):
                    break
                del self._horizons[expected]  # permanent: nothing can fill it any more
            count += 1
            expected = position + 1
        self._forget_before(expected)
        return Decision(count)

    def set_horizon(self, gap: int, horizon: int) -> None:
        """Record an id assigned after the read that first showed ``gap``."""
        if gap in self._horizons and self._horizons[gap] is None:
            self._horizons[gap] = horizon

    def _forget_before(self, position: int) -> None:
        for gap in [g for g in self._horizons if g < position]:
            del self._horizons[gap]
