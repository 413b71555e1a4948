"""Domain errors, each carrying the HTTP status an API answers with."""

from __future__ import annotations

from crm_shared.errors import InvalidValue, PlatformError

__all__ = ["InvalidValue", "LeadIsClosed", "OpportunityIsClosed", "StageInUse"]


class OpportunityIsClosed(PlatformError):
    """A won or lost opportunity accepts no change of stage, amount or outcome."""

    status_code = 409
    code = "opportunity_closed"


class StageInUse(PlatformError):
    status_code = 409
    code = "stage_in_use"


class LeadIsClosed(PlatformError):
    """A disqualified or erased lead accepts no change."""

    status_code = 409
    code = "lead_closed"
