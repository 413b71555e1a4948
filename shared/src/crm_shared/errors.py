"""Typed errors that carry the HTTP status an API should answer with.

Entry points map any ``PlatformError`` to a JSON body ``{"error": code, "detail": ..., **extra}``
with ``status_code``; domain and application code raise them without knowing about HTTP.
"""

from __future__ import annotations

from typing import Any, ClassVar


class PlatformError(Exception):
    """Base of every error that has a defined meaning for an API client."""

    status_code: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    headers: ClassVar[dict[str, str]] = {}
    """Response headers the answer carries (``WWW-Authenticate`` on a 401, say)."""

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def to_body(self) -> dict[str, Any]:
        return {"error": self.code, "detail": self.detail, **self.extra}


class InvalidValue(PlatformError):
    """A value that breaks a rule; names the field and why (answered as 422)."""

    status_code = 422
    code = "validation_failed"

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}", fields=[{"field": field, "reason": reason}])
        self.field = field
        self.reason = reason


class NotFound(PlatformError):
    status_code = 404
    code = "not_found"


class ConcurrencyConflict(PlatformError):
    """Another writer appended to the stream since the caller read it."""

    status_code = 409
    code = "concurrency_conflict"

    def __init__(self, stream_id: str, expected_version: int, actual_version: int) -> None:
        super().__init__(
            f"stream {stream_id!r} is at version {actual_version}, "
            f"the write expected version {expected_version}",
            stream_id=stream_id,
            expected_version=expected_version,
            actual_version=actual_version,
        )
        self.stream_id = stream_id
        self.expected_version = expected_version
        self.actual_version = actual_version
