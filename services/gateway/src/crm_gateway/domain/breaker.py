"""A circuit breaker per upstream service: after ``failures`` failures in a row it opens and
calls fail at once (no waiting on a service that is down); after ``reset_s`` one trial call
is let through (half open): its success closes the circuit, its failure opens it again."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

State = Literal["closed", "open", "half_open"]


@dataclass
class CircuitBreaker:
    failures: int
    reset_s: float
    clock: Callable[[], float]
    _failed: int = 0
    _opened_at: float | None = None
    _trial_out: bool = field(default=False)

    @property
    def state(self) -> State:
        if self._opened_at is None:
            return "closed"
        if self.clock() - self._opened_at >= self.reset_s:
            return "half_open"
        return "open"

    def allow(self) -> bool:
        """Whether a call may go now (in half open, only one at a time)."""
        state = self.state
        if state == "closed":
            return True
        if state == "half_open" and not self._trial_out:
            self._trial_out = True
            return True
        return False

    def succeeded(self) -> None:
        self._failed, self._opened_at, self._trial_out = 0, None, False

    def failed(self) -> None:
        self._trial_out = False
        self._failed += 1
        if self._opened_at is not None or self._failed >= self.failures:
            self._opened_at = self.clock()
