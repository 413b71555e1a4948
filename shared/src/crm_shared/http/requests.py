"""What every service's API reads from a request: the caller and the version it expects.

Until the gateway's OAuth2 tokens arrive (issue 6), the tenant and the acting user come from
the ``X-Tenant-Id`` and ``X-Actor-Id`` headers, which every request must carry.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, Header

from crm_shared.caller import Caller
from crm_shared.errors import ConcurrencyConflict, PlatformError

__all__ = [
    "Caller",
    "Expected",
    "MaybeExpected",
    "PreconditionFailed",
    "PreconditionRequired",
    "Who",
]


class PreconditionRequired(PlatformError):
    status_code = 428
    code = "precondition_required"


class PreconditionFailed(PlatformError):
    status_code = 412
    code = "precondition_failed"


def caller(
    x_tenant_id: Annotated[str, Header(min_length=1, description="Tenant of the caller")],
    x_actor_id: Annotated[str, Header(min_length=1, description="User or system acting")],
    x_correlation_id: Annotated[str | None, Header()] = None,
) -> Caller:
    return Caller(x_tenant_id, x_actor_id, x_correlation_id or str(uuid.uuid4()))


def expected_version(if_match: Annotated[str | None, Header()] = None) -> int:
    """The version the client read, from ``If-Match: "<version>"``."""
    if if_match is None:
        raise PreconditionRequired("send If-Match with the ETag you read")
    try:
        return int(if_match.strip().removeprefix("W/").strip('"'))
    except ValueError:
        raise PreconditionFailed(f"If-Match {if_match!r} is not an ETag of this API") from None


def optional_expected_version(if_match: Annotated[str | None, Header()] = None) -> int | None:
    """``If-Match`` when the client sent one (creating needs none, changing does)."""
    return None if if_match is None else expected_version(if_match)


@contextmanager
def stale_as_412() -> Iterator[None]:
    """A write that expected a version the stream no longer has answers 412 (with both
    versions), as HTTP says of a stale ``If-Match``."""
    try:
        yield
    except ConcurrencyConflict as conflict:
        raise PreconditionFailed(
            conflict.detail,
            expected_version=conflict.expected_version,
            actual_version=conflict.actual_version,
        ) from None


def etag(version: int) -> str:
    return f'"{version}"'


Who = Annotated[Caller, Depends(caller)]
Expected = Annotated[int, Depends(expected_version)]
MaybeExpected = Annotated[int | None, Depends(optional_expected_version)]
