"""What can go wrong with an event: each failure is its own type, with a message naming the culprit.

A consumer sends a record that raises any of these to the dead-letter topic (the error type
travels in the ``dlq_error_type`` header): retrying cannot fix a malformed or unknown event.
"""

from __future__ import annotations


class InvalidEnvelope(ValueError):
    """A Kafka record that is not a valid CRM CloudEvent.

    ``attribute`` names the first offending CloudEvents attribute (``"data"`` for the value),
    or is ``None`` when the record as a whole is unreadable.
    """

    def __init__(self, message: str, attribute: str | None = None) -> None:
        super().__init__(message)
        self.attribute = attribute


class UnknownEventType(LookupError):
    """An event type, or a version of it, that the registry does not know."""


class UnknownSchemaVersion(UnknownEventType):
    """A version newer than the newest the registry knows: this reader must be upgraded first."""


class MissingUpcaster(LookupError):
    """No upcaster turns version N of an event type into version N + 1."""


class InvalidRegistry(ValueError):
    """A registry that could not decode every registered version (gaps, duplicates, strays)."""


class InvalidEventData(ValueError):
    """Event data that its contract rejects, or whose ``dataschema`` names another type."""
