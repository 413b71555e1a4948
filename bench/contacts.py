"""Contacts service benchmark: create-contact throughput over HTTP at 32 concurrent clients.

    uv run python -m bench.contacts [--seconds 20] [--clients 32] [--warmup-seconds 5]
                                    [--workers N (default: one per core)]

Starts the real service process (as ``./crm up`` does) against the local stack, drives it with
32 concurrent HTTP clients for a fixed time (after a warm-up whose contacts stay, with the
tables' statistics then refreshed as autovacuum would on a live database), and compares in the
same run with the same web stack doing nothing but one INSERT per request
(``bench.http_baseline``, same clients and workers) and with raw asyncpg single-row commits
from 32 writers. The service's CPU time per create is
measured from its processes. Writes bench/results/contacts-<time>.json and
contacts-latest.json.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx

from bench import http_baseline, postgres_baseline, results, vegeta
from bench.service_under_test import service_under_test
from bench.stats import percentile
from crm_devstack.processes import repo_root


async def create_load(base_url: str, clients: int, seconds: float) -> dict[str, float]:
    latencies: list[float] = []
    failures = 0
    deadline = time.perf_counter() + seconds
    headers = {"X-Tenant-Id": f"bench-{uuid.uuid4().hex[:6]}", "X-Actor-Id": "bench"}

    async def client(index: int) -> None:
        nonlocal failures
        async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
            sent = 0
            while time.perf_counter() < deadline:
                body = {
                    "first_name": "Load",
                    "last_name": f"Client{index}-{sent}",
                    "emails": [f"c{index}.{sent}@example.com"],
                    "tags": ["bench"],
                }
                started = time.perf_counter()
                response = await http.post("/contacts", json=body, headers=headers)
                latencies.append(time.perf_counter() - started)
                failures += response.status_code != 201
                sent += 1

    started = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    elapsed = time.perf_counter() - started
    return {
        "clients": clients,
        "requests": len(latencies),
        "failures": failures,
        "requests_per_s": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
    }


def contact_bodies(prefix: str) -> Iterator[dict[str, Any]]:
    for sent in itertools.count():
        yield {
            "first_name": "Load",
            "last_name": f"Client{prefix}-{sent}",
            "emails": [f"c{prefix}.{sent}@example.com"],
            "tags": ["bench"],
        }


def vegeta_load(base_url: str, clients: int, seconds: float) -> dict[str, Any]:
    """The same load from vegeta (Go), which takes far less CPU than a Python client."""
    work = repo_root() / ".local" / "bench-contacts"
    work.mkdir(parents=True, exist_ok=True)
    headers = {"X-Tenant-Id": f"bench-{uuid.uuid4().hex[:6]}", "X-Actor-Id": "bench"}
    targets = work / "targets.jsonl"
    bodies = contact_bodies(uuid.uuid4().hex[:6])
    vegeta.write_targets(
        targets,
        (
            vegeta.Target("POST", f"{base_url}/contacts", headers, next(bodies))
            for _ in range(int(seconds * 2000))
        ),
    )
    report = vegeta.attack(repo_root(), targets, clients, seconds, work / "results.bin")
    return vegeta.summary(report, clients)


def main() -> None:
    parser = argparse.ArgumentParser(description="contacts create throughput over HTTP")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument(
        "--driver",
        choices=["vegeta", "python"],
        default="vegeta",
        help="load generator: vegeta (Go, installed on first use) or httpx",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=len(os.sched_getaffinity(0)),
        help="processes serving the API (CONTACTS_HTTP_WORKERS): by default one per core this"
        " process may use, as an operator runs the service on one machine (a process uses one"
        " core; the service's own default is 1, one per pod, scaled by replicas)",
    )
    parser.add_argument(
        "--warmup-seconds",
        type=float,
        default=5,
        help="creates before the measured ones, after which the tables' statistics are"
        " refreshed (as autovacuum would on a live database)",
    )
    args = parser.parse_args()

    os.environ["CONTACTS_HTTP_WORKERS"] = str(args.workers)
    with service_under_test("contacts") as service:
        if args.warmup_seconds > 0:  # measured: a service with contacts, not an empty table
            vegeta_load(service.url, args.clients, args.warmup_seconds)
            asyncio.run(service.analyze())
        cpu_before = service.cpu_seconds()
        http = (
            vegeta_load(service.url, args.clients, args.seconds)
            if args.driver == "vegeta"
            else asyncio.run(create_load(service.url, args.clients, args.seconds))
        )
        http["service_cpu_ms_per_request"] = (
            (service.cpu_seconds() - cpu_before) * 1000 / max(http["requests"], 1)
        )
        service.stop()
        report: dict[str, Any] = {
            "create_over_http": http,
            "bare_http_single_insert": http_baseline.bare_http_creates(
                repo_root(), service.dsn, args.clients, args.seconds, args.workers
            ),
            "raw_postgres_single_row_commits": asyncio.run(
                postgres_baseline.single_row_commits(service.dsn, 32, 200)
            ),
        }
    bare = report["bare_http_single_insert"]
    report["summary"] = {
        "create_requests_per_s": http["requests_per_s"],
        "create_p99_ms": http["p99_ms"],
        "service_cpu_ms_per_create": http["service_cpu_ms_per_request"],
        "bare_http_requests_per_s": bare["requests_per_s"],
        "bare_http_p99_ms": bare["p99_ms"],
        "ratio_to_bare_http": http["requests_per_s"] / bare["requests_per_s"],
        "ratio_to_raw_postgres_commits": http["requests_per_s"]
        / report["raw_postgres_single_row_commits"]["commits_per_s"],
        "targets": {
            "requests_per_s >= 800": http["requests_per_s"] >= 800,
            "p99_ms < 100": http["p99_ms"] < 100,
        },
    }
    report["meta"] = {"at": datetime.now(UTC).isoformat(), **vars(args)}
    results.write("contacts", report)


if __name__ == "__main__":
    main()
