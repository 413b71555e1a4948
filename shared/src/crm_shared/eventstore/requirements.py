"""What must hold for a statement to be kept, checked inside it.

A command written as one statement (``EventStore.fetch_as_transaction``) has no transaction
to roll back after a check; ``requirement`` puts the check in the statement instead: the
schema's ``require`` function (migration ``0002_statement_requirements``) raises unless the
condition holds, which undoes the whole statement, and the store answers ``Refused``.
"""

from __future__ import annotations

from types import TracebackType

import asyncpg

REFUSED_SQLSTATE = "CRM01"

STREAM_EXISTS = "the stream exists"
"""A new stream's events were not all written (``StreamStart.requirement``)."""
STREAM_MOVED = "the stream moved on"
"""A stream is no longer at the version read (``EventStore.stream_at``)."""
SUBJECT_ERASED = "the subject was erased"
"""A new subject's data key was not kept (``NewSubjectKey.requirement``)."""


class Refused(Exception):
    """A requirement of the statement did not hold: nothing of it was kept."""

    def __init__(self, refusal: str) -> None:
        super().__init__(refusal)
        self.refusal = refusal


def requirement(schema: str, condition: str, refusal: str) -> str:
    """An SQL expression for the select list of a statement in ``schema``: true, or an error
    that undoes the statement and is answered as ``Refused(refusal)``. ``refusal`` is one of
    this module's constants (it is written into the statement's text)."""
    return f"\"{schema}\".require({condition}, '{refusal}')"


class _Refusals:
    """``with refusals:`` turns the ``require`` function's error into ``Refused`` (a class
    rather than a generator: it wraps every statement of a unit of work)."""

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if isinstance(error, asyncpg.PostgresError) and error.sqlstate == REFUSED_SQLSTATE:
            raise Refused(str(error.message)) from None


refusals = _Refusals()
