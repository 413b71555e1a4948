"""Who in a queue takes a case: among the members with the skill the case needs, the next in
turn (round robin) or the one with the fewest open cases (least load)."""

from __future__ import annotations

from typing import Any

from crm_shared.contracts.support import QueueDefined, QueueMember
from crm_support.domain.errors import InvalidValue

STRATEGIES = ("round_robin", "least_load")


def define_queue(
    tenant_id: str,
    queue_id: str,
    name: str,
    strategy: str,
    required_skill: str | None,
    members: list[dict[str, Any]],
    current: QueueDefined | None,
) -> QueueDefined | None:
    """The queue's new definition; None when nothing changes."""
    if not name.strip():
        raise InvalidValue("name", "must not be empty")
    if strategy not in STRATEGIES:
        raise InvalidValue("strategy", f"one of {', '.join(STRATEGIES)}")
    users = [str(m.get("user_id") or "").strip() for m in members]
    if any(not user for user in users):
        raise InvalidValue("members", "every member has a user_id")
    if len(set(users)) != len(users):
        raise InvalidValue("members", "a user is a member once")
    event = QueueDefined(
        tenant_id=tenant_id,
        queue_id=queue_id,
        name=name.strip(),
        strategy=strategy,
        required_skill=(required_skill or "").strip() or None,
        members=[
            QueueMember(
                user_id=user,
                skills=sorted({str(s).strip() for s in m.get("skills", []) if str(s).strip()}),
            )
            for user, m in zip(users, members, strict=True)
        ],
    )
    if current is not None and current.model_dump() == event.model_dump():
        return None
    return event


def eligible(queue: QueueDefined, skill: str | None) -> list[QueueMember]:
    needed = skill or queue.required_skill
    return [m for m in queue.members if needed is None or needed in m.skills]


def choose(
    queue: QueueDefined, skill: str | None, turn: int, open_cases: dict[str, int]
) -> str | None:
    """The member to assign; None when nobody in the queue has the skill."""
    members = eligible(queue, skill)
    if not members:
        return None
    if queue.strategy == "round_robin":
        return members[turn % len(members)].user_id
    return min(members, key=lambda m: (open_cases.get(m.user_id, 0), members.index(m))).user_id
