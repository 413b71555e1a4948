"""Likely duplicates: the same email or phone, or a very similar name."""

from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz

SAME_EMAIL = 1.0
SAME_PHONE = 0.9
NAME_WEIGHT = 0.8
NAME_THRESHOLD = 88.0
"""rapidfuzz token-sort ratio (0-100) from which two full names count as similar."""


@dataclass(frozen=True)
class Profile:
    contact_id: str
    first_name: str | None
    last_name: str
    emails: frozenset[str]
    phones: frozenset[str]

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
    if similarity >= NAME_THRESHOLD:
        reasons.append((NAME_WEIGHT * similarity / 100, f"similar name ({similarity:.0f}%)"))
    if not reasons:
        return None
    best = max(score for score, _ in reasons)
    return LikelyDuplicate(existing.contact_id, round(best, 3), tuple(r for _, r in reasons))


def rank(new: Profile, candidates: list[Profile]) -> list[LikelyDuplicate]:
    found = [compare(new, c) for c in candidates if c.contact_id != new.contact_id]
    return sorted((d for d in found if d), key=lambda d: (-d.score, d.contact_id))
