"""Which read events may be published without skipping one that is still being written.

Positions come from an identity sequence, drawn while a transaction runs but made visible only
when it commits, so the log can show position 11 while 10 is still uncommitted. Publishing 11
and moving on would lose 10 for good. A missing position is either held by a transaction still
running or a permanent hole (the transaction rolled back, or an append lost a version race).

Every appender takes its transaction id before it draws a position, so any transaction that
could still fill a gap seen in a snapshot is listed as in progress in that very snapshot. The
relay waits until all of those have finished; what is still missing then is permanent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A PostgreSQL ``pg_snapshot``: transactions below ``xmin`` and not in ``xip`` are done."""

    xmin: int
    xmax: int
    in_progress: frozenset[int]

    @classmethod
    def parse(cls, text: str) -> Snapshot:
        """Parse the text form ``xmin:xmax:xip1,xip2,...``."""
        xmin, xmax, xip = text.split(":")
        in_progress = frozenset(int(x) for x in xip.split(",") if x)
        return cls(int(xmin), int(xmax), in_progress)

    def has_finished(self, xid: int) -> bool:
        return xid < self.xmin or (xid < self.xmax and xid not in self.in_progress)


class GapGuard:
    """Remembers, for each gap seen, the transactions that might still fill it."""

    def __init__(self) -> None:
        self._blockers: dict[int, frozenset[int]] = {}

    @property
    def open_gaps(self) -> list[int]:
        return sorted(self._blockers)

    def publishable(self, last_published: int, positions: Sequence[int], snapshot: Snapshot) -> int:
        """How many of ``positions`` (ascending, read in ``snapshot``) may be published now.

        Everything before the first gap that may still be filled is publishable; permanent
        gaps are stepped over.
        """
        expected = last_published + 1
        count = 0
        for position in positions:
            if position != expected and not self._gap_is_permanent(expected, snapshot):
                break
            count += 1
            expected = position + 1
        self._forget_before(expected)
        return count

    def _gap_is_permanent(self, gap: int, snapshot: Snapshot) -> bool:
        blockers = self._blockers.get(gap)
        if blockers is None:
            blockers = snapshot.in_progress
            self._blockers[gap] = blockers
        if all(snapshot.has_finished(xid) for xid in blockers):
            del self._blockers[gap]
            return True
        return False

    def _forget_before(self, position: int) -> None:
        for gap in [g for g in self._blockers if g < position]:
            del self._blockers[gap]
