"""Support service benchmark: case creation and status changes over HTTP at 32 concurrent
clients, and how on time the SLA timers fire while many are pending.

    uv run python -m bench.support [--seconds 20] [--clients 32] [--timer-seconds 60]

Starts the real support service process (with its relay and its timer runner) against the
local stack, in a schema of its own. Three phases:

1. Creation: vegeta opens cases (each routed round robin in a queue of ten agents, each with
   four SLA timers: a warning and a breach for the first response and for the resolution).
   The cases stay open, so their timers are the pending set of phase 3.
2. Status changes: vegeta moves cases between open and pending on the customer (each move
   pauses or resumes the SLA clocks, so it also replaces the case's timers).
3. Timers: cases are opened at a steady rate under a rule with a two-minute first response
   (warning one minute before), escalating by priority at the breach, while every earlier
   timer is still pending. Lateness is measured twice: in the service (``fired_at - due_at``
   of each timer) and as a subscriber sees it (the warning or breach event received from
   ``crm.support.events``, minus the moment it was due).

Baselines in the same run: raw asyncpg single-row commits (for the writes) and the claim of
due timers as plain SQL over the same pending set (for the timers).
Writes bench/results/support-<time>.json and support-latest.json.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer

from bench import postgres_baseline, results, vegeta
from bench.service_under_test import service_under_test
from bench.stats import percentile
from crm_devstack.processes import repo_root
from crm_devstack.subscriber import subscribe_from_now
from crm_shared.contracts.support import REGISTRY, SlaBreached, SlaWarned
from crm_shared.events import from_kafka_record

TOPIC = "crm.support.events"
FAST_TIER = "bench-fast"
FIRST_RESPONSE_MINUTES = 2
WARN_BEFORE_MINUTES = 1


def rule(priority: str, tier: str, first: int, resolution: int, warn: int) -> dict[str, Any]:
    return {
        "priority": priority,
        "tier": tier,
        "first_response_minutes": first,
        "resolution_minutes": resolution,
        "warn_before_minutes": warn,
    }


POLICY = {
    "calendar": {"time_zone": "UTC", "hours": []},
    "rules": [
        rule("normal", "standard", 240, 2400, 30),
        {
            **rule("normal", FAST_TIER, FIRST_RESPONSE_MINUTES, 600, WARN_BEFORE_MINUTES),
            "escalation": {"raise_priority": True},
        },
        rule("high", FAST_TIER, 600, 6000, 60),
    ],
}
QUEUE = {
    "name": "Tier 1",
    "strategy": "round_robin",
    "members": [{"user_id": f"agent-{n}", "skills": []} for n in range(10)],
}


async def define(base_url: str, headers: dict[str, str]) -> None:
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as http:
        (await http.put("/queues/tier1", json=QUEUE)).raise_for_status()
        (await http.put("/sla-policy", json=POLICY)).raise_for_status()


def case_body(n: int, tier: str = "standard") -> dict[str, Any]:
    return {
        "subject": f"Cannot log in ({n})",
        "description": "Since this morning the password is refused.",
        "channel": "email",
        "requester_email": f"customer{n}@example.com",
        "queue_id": "tier1",
        "tier": tier,
    }


def creations(base_url: str, headers: dict[str, str]) -> Iterator[vegeta.Target]:
    n = 0
    while True:
        n += 1
        yield vegeta.Target("POST", f"{base_url}/cases", headers, case_body(n))


async def open_cases(base_url: str, headers: dict[str, str], count: int) -> dict[str, int]:
    """``count`` cases and the version each has."""
    versions: dict[str, int] = {}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as http:

        async def opener(index: int) -> None:
            for n in range(index, count, 16):
                response = await http.post("/cases", json=case_body(n))
                response.raise_for_status()
                versions[response.json()["id"]] = response.json()["version"]

        await asyncio.gather(*(opener(i) for i in range(16)))
    return versions


def status_of_round(round_number: int) -> str:
    """new -> open -> pending -> open -> pending ..."""
    return "open" if round_number % 2 == 0 else "pending"


async def version_steps(base_url: str, headers: dict[str, str]) -> list[int]:
    """How many events each of the first three moves adds to a case (a move may pause or
    resume the SLA clocks as well): found on a case of its own, the same for every case."""
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as http:
        opened = (await http.post("/cases", json=case_body(0))).raise_for_status().json()
        versions = [opened["version"]]
        for round_number in range(3):
            moved = await http.post(
                f"/cases/{opened['id']}/status",
                json={"status": status_of_round(round_number)},
                headers={"If-Match": f'"{versions[-1]}"'},
            )
            versions.append(moved.raise_for_status().json()["version"])
    return [after - before for before, after in itertools.pairwise(versions)]


def status_changes(
    base_url: str, headers: dict[str, str], cases: dict[str, int], steps: list[int], rounds: int
) -> Iterator[vegeta.Target]:
    """Round after round over every case, each move with the If-Match of the version the case
    will have by then: a case comes back only after all the others, so its previous move has
    long been answered."""
    versions = dict(cases)
    for round_number in range(rounds):
        step = steps[0] if round_number == 0 else steps[1 + (round_number - 1) % 2]
        for case_id, version in versions.items():
            yield vegeta.Target(
                "POST",
                f"{base_url}/cases/{case_id}/status",
                {**headers, "If-Match": f'"{version}"'},
                {"status": status_of_round(round_number)},
            )
            versions[case_id] = version + step


async def timer_phase(
    base_url: str, headers: dict[str, str], bootstrap: str, rate: float, seconds: float
) -> dict[str, Any]:
    """Open fast-tier cases at ``rate`` per second for ``seconds``, then wait for every warning
    and breach they owe; returns when each was due and when a subscriber received it."""
    subscriber = await subscribe_from_now(bootstrap, TOPIC)
    received: dict[tuple[str, str], float] = {}
    opened: set[str] = set()
    done = asyncio.Event()

    async def listen(consumer: AIOKafkaConsumer) -> None:
        while not done.is_set():
            batches = await consumer.getmany(timeout_ms=200)
            now = time.time()
            for records in batches.values():
                for record in records:
                    envelope = from_kafka_record(record.key, record.value, record.headers)
                    if envelope.tenantid != headers["X-Tenant-Id"]:
                        continue
                    event = REGISTRY.decode(envelope)
                    if isinstance(event, SlaWarned | SlaBreached) and event.target == (
                        "first_response"
                    ):
                        kind = "warned" if isinstance(event, SlaWarned) else "breached"
                        due = event.deadline - (
                            timedelta(minutes=WARN_BEFORE_MINUTES)
                            if kind == "warned"
                            else timedelta()
                        )
                        received[(event.case_id, kind)] = now - due.timestamp()

    listening = asyncio.create_task(listen(subscriber))
    try:
        async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as http:
            started = time.monotonic()
            n = 0
            while (elapsed := time.monotonic() - started) < seconds:
                await asyncio.sleep(max(0.0, n / rate - elapsed))
                response = await http.post("/cases", json=case_body(n, FAST_TIER))
                response.raise_for_status()
                opened.add(response.json()["id"])
                n += 1
        expected = 2 * len(opened)
        deadline = time.monotonic() + FIRST_RESPONSE_MINUTES * 60 + 120
        while len(received) < expected and time.monotonic() < deadline:
            await asyncio.sleep(1)
    finally:
        done.set()
        await listening
        await subscriber.stop()
    lateness = list(received.values())
    return {
        "cases": len(opened),
        "offered_cases_per_s": rate,
        "timers_expected": 2 * len(opened),
        "timers_received_by_subscriber": len(received),
        "subscriber_lateness_p50_ms": percentile(lateness, 50) * 1000,
        "subscriber_lateness_p99_ms": percentile(lateness, 99) * 1000,
        "subscriber_lateness_max_ms": max(lateness, default=0.0) * 1000,
        "case_ids": sorted(opened),
    }


async def timers_as_fired(dsn: str, schema: str, case_ids: list[str]) -> dict[str, Any]:
    connection = await asyncpg.connect(dsn)
    try:
        rows = await connection.fetch(
            "SELECT extract(epoch FROM fired_at - due_at) AS late, fired_at IS NULL AS pending"
            f' FROM "{schema}".sla_timers WHERE case_id = ANY($1::text[])'
            " AND kind LIKE '%:first_response' AND due_at <= now()",
            case_ids,
        )
        twice = await connection.fetchval(
            f'SELECT count(*) FROM (SELECT 1 FROM "{schema}".events'
            " WHERE stream_id = ANY($1::text[]) AND event_type IN"
            " ('crm.support.case.sla_warned', 'crm.support.case.sla_breached')"
            " GROUP BY stream_id, event_type, data->>'target' HAVING count(*) > 1) AS repeated",
            case_ids,
        )
    finally:
        await connection.close()
    late = [float(r["late"]) for r in rows if not r["pending"]]
    return {
        "timers_due": len(rows),
        "timers_fired": len(late),
        "timers_fired_twice": twice,
        "fired_lateness_p50_ms": percentile(late, 50) * 1000,
        "fired_lateness_p99_ms": percentile(late, 99) * 1000,
        "fired_lateness_max_ms": max(late, default=0.0) * 1000,
    }


async def pending_timers(dsn: str, schema: str) -> int:
    connection = await asyncpg.connect(dsn)
    try:
        found = await connection.fetchval(
            f'SELECT count(*) FROM "{schema}".sla_timers WHERE fired_at IS NULL'
        )
    finally:
        await connection.close()
    return int(found)


async def raw_claim_sql(dsn: str, schema: str, runs: int) -> dict[str, float]:
    """The claim a timer runner makes, as plain SQL over the same pending set (rolled back)."""
    connection = await asyncpg.connect(dsn)
    latencies = []
    try:
        for _ in range(runs):
            started = time.perf_counter()
            async with connection.transaction():
                await connection.fetch(
                    f'SELECT case_id, kind, due_at FROM "{schema}".sla_timers'
                    " WHERE fired_at IS NULL AND due_at <= now() + interval '1 hour'"
                    " ORDER BY due_at LIMIT 100 FOR UPDATE SKIP LOCKED"
                )
            latencies.append(time.perf_counter() - started)
    finally:
        await connection.close()
    return {"p50_ms": percentile(latencies, 50) * 1000, "p99_ms": percentile(latencies, 99) * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description="support cases, status changes and SLA timers")
    parser.add_argument("--seconds", type=float, default=20, help="of each vegeta phase")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--cases", type=int, default=2000, help="cases moved round-robin")
    parser.add_argument("--timer-seconds", type=float, default=60)
    parser.add_argument("--timer-rate", type=float, default=20, help="fast-tier cases per second")
    args = parser.parse_args()

    work = repo_root() / ".local" / "bench-support"
    with service_under_test("support") as service:
        dsn, schema = service.dsn, service.schema
        headers = {"X-Tenant-Id": f"bench-{uuid.uuid4().hex[:6]}", "X-Actor-Id": "bench"}
        asyncio.run(define(service.url, headers))
        targets = work / "create-targets.jsonl"
        vegeta.write_targets(targets, itertools.islice(creations(service.url, headers), 60_000))
        created = vegeta.summary(
            vegeta.attack(repo_root(), targets, args.clients, args.seconds, work / "c.bin"),
            args.clients,
        )
        cases = asyncio.run(open_cases(service.url, headers, args.cases))
        steps = asyncio.run(version_steps(service.url, headers))
        rounds = max(2, int(args.seconds * 1500 / len(cases)) + 1)
        targets = work / "status-targets.jsonl"
        vegeta.write_targets(targets, status_changes(service.url, headers, cases, steps, rounds))
        moved = vegeta.summary(
            vegeta.attack(repo_root(), targets, args.clients, args.seconds, work / "s.bin"),
            args.clients,
        )
        pending_before = asyncio.run(pending_timers(dsn, schema))
        timers = asyncio.run(
            timer_phase(
                service.url,
                headers,
                service.kafka_bootstrap_servers,
                args.timer_rate,
                args.timer_seconds,
            )
        )
        fired = asyncio.run(timers_as_fired(dsn, schema, timers.pop("case_ids")))
        report: dict[str, Any] = {
            "case_creation_over_http": created,
            "status_changes_over_http": moved,
            "sla_timers": {"pending_when_phase_began": pending_before, **timers, **fired},
            "raw_claim_of_due_timers_sql": asyncio.run(raw_claim_sql(dsn, schema, 200)),
            "raw_postgres_single_row_commits": asyncio.run(
                postgres_baseline.single_row_commits(dsn, 32, 200)
            ),
        }
    raw_commits = report["raw_postgres_single_row_commits"]["commits_per_s"]
    sla = report["sla_timers"]
    report["summary"] = {
        "case_creations_per_s": created["requests_per_s"],
        "case_creation_p99_ms": created["p99_ms"],
        "case_creation_failures": created["failures"],
        "status_changes_per_s": moved["requests_per_s"],
        "status_change_p99_ms": moved["p99_ms"],
        "status_change_failures": moved["failures"],
        "creation_ratio_to_raw_postgres_commits": created["requests_per_s"] / raw_commits,
        "pending_sla_timers": sla["pending_when_phase_began"],
        "timers_fired_twice": sla["timers_fired_twice"],
        "timers_missing": sla["timers_due"] - sla["timers_fired"],
        "timer_fired_lateness_p99_ms": sla["fired_lateness_p99_ms"],
        "timer_seen_by_subscriber_lateness_p50_ms": sla["subscriber_lateness_p50_ms"],
        "timer_seen_by_subscriber_lateness_p99_ms": sla["subscriber_lateness_p99_ms"],
    }
    report["meta"] = {"at": datetime.now(UTC).isoformat(), **vars(args)}
    results.write("support", report)


if __name__ == "__main__":
    main()
