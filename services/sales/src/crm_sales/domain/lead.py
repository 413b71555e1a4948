"""The lead aggregate: captured, assigned, qualified (budget, authority, need, timing) or
disqualified with a reason, and erasable.

Its personal fields are sealed in its events with the lead's own cipher; once the key is
destroyed they replay as empty.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, get_args

from pydantic import ValidationError

from crm_sales.domain.errors import InvalidValue, LeadIsClosed
from crm_sales.domain.money import amount, currency_code
from crm_shared.contracts.sales import (
    ConversionPlan,
    DisqualificationReason,
    LeadAssigned,
    LeadCaptured,
    LeadConversionFailed,
    LeadConversionStarted,
    LeadConversionStepDone,
    LeadConverted,
    LeadDisqualified,
    LeadErased,
    LeadQualified,
)
from crm_shared.events import EventContract
from crm_shared.privacy import SubjectCipher
from crm_shared.values import normalise_country, normalise_email, normalise_phone

ERASED: dict[str, Any] = {
    "first_name": None,
    "last_name": None,
    "email": None,
    "phone": None,
    "notes": None,
}


@dataclass
class Lead:
    lead_id: str
    cipher: SubjectCipher
    version: int = 0
    state: dict[str, Any] = field(default_factory=dict)
    status: str = "new"
    """new, assigned, qualified, disqualified; converting, then converted (or qualified again
    when the conversion failed and was undone)."""
    erased: bool = False
    pending: list[EventContract] = field(default_factory=list)

    @classmethod
    def from_history(
        cls, lead_id: str, history: list[EventContract], cipher: SubjectCipher
    ) -> Lead:
        lead = cls(lead_id, cipher)
        for event in history:
            lead._apply(event)
            lead.version += 1
        return lead

    @classmethod
    def capture(
        cls,
        lead_id: str,
        details: dict[str, Any],
        source: str,
        cipher: SubjectCipher,
        default_region: str | None = None,
    ) -> Lead:
        last_name = str(details.get("last_name") or "").strip()
        if not last_name:
            raise InvalidValue("last_name", "must not be empty")
        email = details.get("email")
        phone = details.get("phone")
        if not email and not phone:
            raise InvalidValue("email", "give an email or a phone number to reach the lead")
        personal = {
            "first_name": str(details.get("first_name") or "").strip() or None,
            "last_name": last_name,
            "email": normalise_email(str(email)) if email else None,
            "phone": normalise_phone(str(phone), default_region) if phone else None,
            "notes": str(details.get("notes") or "").strip() or None,
        }
        country = details.get("country")
        lead = cls(lead_id, cipher)
        lead._record(
            LeadCaptured(
                lead_id=lead_id,
                personal=cipher.seal(personal),
                company=str(details.get("company") or "").strip() or None,
                country=normalise_country(str(country)) if country else None,
                region=str(details.get("region") or "").strip() or None,
                source=source,
            )
        )
        return lead

    def assign(self, owner_id: str, team_id: str | None, rule: str) -> None:
        self._check_open()
        if not owner_id.strip():
            raise InvalidValue("owner_id", "must not be empty")
        if self.state.get("owner_id") == owner_id:
            return
        self._record(
            LeadAssigned(lead_id=self.lead_id, owner_id=owner_id, team_id=team_id, rule=rule)
        )

    def qualify(self, answers: dict[str, Any]) -> None:
        self._check_open()
        need = str(answers.get("need") or "").strip()
        if not need:
            raise InvalidValue("need", "say what the buyer needs")
        budget = answers.get("budget")
        currency = answers.get("budget_currency")
        if (budget is None) != (currency is None):
            raise InvalidValue("budget_currency", "a budget comes with its currency")
        timing = answers.get("timing")
        if timing is not None and not isinstance(timing, date):
            try:
                timing = date.fromisoformat(str(timing))
            except ValueError:
                raise InvalidValue("timing", "a date, YYYY-MM-DD") from None
        notes = str(answers.get("notes") or "").strip() or None
        self._record(
            LeadQualified(
                lead_id=self.lead_id,
                budget=amount(budget, "budget") if budget is not None else None,
                budget_currency=currency_code(str(currency), "budget_currency")
                if currency
                else None,
                authority=bool(answers.get("authority")),
                need=need,
                timing=timing,
                personal_notes=self.cipher.seal({"notes": notes}) if notes else None,
            )
        )

    def disqualify(self, reason: str, explanation: str | None) -> None:
        self._check_open()
        if reason not in get_args(DisqualificationReason):
            reasons = ", ".join(get_args(DisqualificationReason))
            raise InvalidValue("reason", f"one of {reasons}")
        self._record(
            LeadDisqualified(
                lead_id=self.lead_id,
                reason=reason,
                explanation=(explanation or "").strip() or None,
            )
        )

    def start_conversion(self, plan: dict[str, Any]) -> None:
        """A qualified lead becomes an organisation, a contact and an opportunity."""
        if self.erased or self.status != "qualified":
            raise LeadIsClosed(
                f"only a qualified lead converts; lead {self.lead_id} is {self.status}"
            )
        account_name = str(plan.get("account_name") or self.state.get("company") or "").strip()
        if not account_name:
            raise InvalidValue("account_name", "the lead names no company: give the organisation")
        if not str(plan.get("pipeline_id") or "").strip():
            raise InvalidValue("pipeline_id", "is required: the opportunity's pipeline")
        owner = str(plan.get("owner_id") or self.state.get("owner_id") or "").strip()
        if not owner:
            raise InvalidValue("owner_id", "the lead has no owner: give the opportunity's")
        try:
            checked = ConversionPlan(
                account_name=account_name,
                pipeline_id=str(plan.get("pipeline_id") or ""),
                opportunity_name=str(plan.get("opportunity_name") or account_name).strip(),
                amount=amount(plan.get("amount", "0")),
                currency=currency_code(str(plan.get("currency") or "")),
                expected_close_date=plan.get("expected_close_date"),
                owner_id=owner,
            )
        except ValidationError as error:
            first = error.errors()[0]
            raise InvalidValue(str(first["loc"][0]), first["msg"]) from None
        self._record(LeadConversionStarted(lead_id=self.lead_id, plan=checked))

    def conversion_step(self, step: str, resource_id: str) -> None:
        if self.status != "converting" or self.state["conversion"].get(step):
            return
        self._record(
            LeadConversionStepDone(lead_id=self.lead_id, step=step, resource_id=resource_id)
        )

    def converted(self, opportunity_id: str) -> None:
        conversion = self.state["conversion"]
        self._record(
            LeadConverted(
                lead_id=self.lead_id,
                account_id=conversion["account"],
                contact_id=conversion["contact"],
                opportunity_id=opportunity_id,
            )
        )

    def conversion_failed(self, reason: str, compensated: list[str]) -> None:
        self._record(
            LeadConversionFailed(lead_id=self.lead_id, reason=reason, compensated=compensated)
        )

    def erase(self) -> bool:
        """Record the erasure (the caller destroys the key); False when already erased."""
        if self.erased:
            return False
        self._record(LeadErased(lead_id=self.lead_id))
        return True

    def _check_open(self) -> None:
        if self.erased or self.status in ("disqualified", "converting", "converted"):
            raise LeadIsClosed(f"lead {self.lead_id} is {'erased' if self.erased else self.status}")

    def _record(self, event: EventContract) -> None:
        self._apply(event)
        self.pending.append(event)

    def _apply(self, event: EventContract) -> None:
        if isinstance(event, LeadCaptured):
            self.state = event.model_dump(mode="json", exclude={"lead_id", "personal"})
            self.state.update(self.cipher.open(event.personal) or ERASED)
        elif isinstance(event, LeadAssigned):
            self.state.update(owner_id=event.owner_id, team_id=event.team_id)
            self.status = "assigned" if self.status == "new" else self.status
        elif isinstance(event, LeadQualified):
            self.status = "qualified"
            self.state["qualification"] = event.model_dump(
                mode="json", exclude={"lead_id", "personal_notes"}
            )
            if event.personal_notes is not None:
                opened = self.cipher.open(event.personal_notes)
                self.state["qualification"]["notes"] = (opened or {}).get("notes")
        elif isinstance(event, LeadDisqualified):
            self.status = "disqualified"
            self.state["disqualification"] = {
                "reason": event.reason,
                "explanation": event.explanation,
            }
        elif isinstance(event, LeadConversionStarted):
            self.status = "converting"
            attempt = int(self.state.get("conversion", {}).get("attempt", 0)) + 1
            self.state["conversion"] = {
                "attempt": attempt,
                "plan": event.plan.model_dump(mode="json"),
            }
        elif isinstance(event, LeadConversionStepDone):
            self.state["conversion"][event.step] = event.resource_id
        elif isinstance(event, LeadConverted):
            self.status = "converted"
            self.state["conversion"].update(
                account=event.account_id,
                contact=event.contact_id,
                opportunity=event.opportunity_id,
            )
        elif isinstance(event, LeadConversionFailed):
            self.status = "qualified"
            self.state["conversion"]["failed"] = {
                "reason": event.reason,
                "compensated": event.compensated,
            }
        elif isinstance(event, LeadErased):
            self.erased = True
            self.state.update(ERASED)
            if "qualification" in self.state:
                self.state["qualification"]["notes"] = None
