"""Likely duplicates: the same email or phone, or a similar name at the same organisation.

A similar name at the same organisation is a strong hint; a very similar name is a weak one
when an organisation is unknown on either side, and none when both work at different ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rapidfuzz import fuzz

SAME_EMAIL = 1.0
SAME_PHONE = 0.9
NAME_AT_ORGANISATION_WEIGHT = 0.95
NAME_AT_ORGANISATION_THRESHOLD = 85.0
"""rapidfuzz token-sort ratio (0-100) from which two names at one organisation are similar."""
NAME_WEIGHT = 0.8
NAME_THRESHOLD = 88.0
"""The same, for names with no organisation in common: a stricter, weaker signal."""


@dataclass(frozen=True)
class Profile:
    contact_id: str
    first_name: str | None
    last_name: str
    emails: frozenset[str]
    phones: frozenset[str]
    organisations: frozenset[str] = frozenset()
    """Ids of the accounts (organisations) the person works at."""

    @classmethod
    def of(
        cls, contact_id: str, details: dict[str, Any], organisations: frozenset[str] = frozenset()
    ) -> Profile:
        """The profile of a contact's fields as the aggregate and the read model hold them."""
        return cls(
            contact_id,
            details.get("first_name"),
            details.get("last_name") or "",
            frozenset(e["address"] for e in details.get("emails", [])),
            frozenset(p["number"] for p in details.get("phones", [])),
            organisations,
        )

    @property
    def full_name(self) -> str:
        return f"{self.first_name or ''} {self.last_name}".strip().lower()


@dataclass(frozen=True)
class LikelyDuplicate:
    contact_id: str
    score: float
    reasons: tuple[str, ...]


def compare(new: Profile, existing: Profile) -> LikelyDuplicate | None:
    """How likely ``existing`` is the same person as ``new``; None when nothing suggests it."""
    reasons: list[tuple[float, str]] = []
    for email in sorted(new.emails & existing.emails):
        reasons.append((SAME_EMAIL, f"same email {email}"))
    for phone in sorted(new.phones & existing.phones):
        reasons.append((SAME_PHONE, f"same phone {phone}"))
    similarity = fuzz.token_sort_ratio(new.full_name, existing.full_name)
    shared = sorted(new.organisations & existing.organisations)
    if shared and similarity >= NAME_AT_ORGANISATION_THRESHOLD:
        reasons.append(
            (
                NAME_AT_ORGANISATION_WEIGHT * similarity / 100,
                f"similar name ({similarity:.0f}%) at the same organisation {shared[0]}",
            )
        )
    elif similarity >= NAME_THRESHOLD and not (new.organisations and existing.organisations):
        # With organisations known on both sides and none in common: different people.
        reasons.append((NAME_WEIGHT * similarity / 100, f"similar name ({similarity:.0f}%)"))
    if not reasons:
        return None
    best = max(score for score, _ in reasons)
    return LikelyDuplicate(existing.contact_id, round(best, 3), tuple(r for _, r in reasons))


def rank(new: Profile, candidates: list[Profile]) -> list[LikelyDuplicate]:
    found = [compare(new, c) for c in candidates if c.contact_id != new.contact_id]
    return sorted((d for d in found if d), key=lambda d: (-d.score, d.contact_id))
