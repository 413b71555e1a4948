"""Sales service benchmark: opportunity stage changes over HTTP at 32 concurrent clients, and
the forecast query over 100,000 opportunities.

    uv run python -m bench.sales [--seconds 20] [--clients 32] [--opportunities 100000]

Starts the real sales service process against the local stack. Stage changes are driven by
vegeta (each request moves one opportunity with the If-Match of its current version); the
forecast is asked over HTTP, one request at a time, of a tenant holding 100,000 opportunities
(seeded straight into the read model it queries). Baselines in the same run: raw asyncpg
single-row commits (for the writes) and the forecast's aggregate as plain SQL (for the query).
Writes bench/results/sales-<time>.json and sales-latest.json.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx

from bench import postgres_baseline, results, vegeta
from bench.service_under_test import service_under_test
from bench.stats import percentile
from crm_devstack.processes import repo_root

STAGES = [
    {"stage_id": "qualify", "name": "Qualify", "probability": 10},
    {"stage_id": "propose", "name": "Propose", "probability": 40},
    {
        "stage_id": "negotiate",
        "name": "Negotiate",
        "probability": 70,
        "forecast_category": "best_case",
    },
    {"stage_id": "commit", "name": "Commit", "probability": 90, "forecast_category": "commit"},
]


async def open_opportunities(base_url: str, headers: dict[str, str], count: int) -> list[str]:
    ids: list[str] = []
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30) as http:
        answer = await http.put("/pipelines/bench", json={"name": "Bench", "stages": STAGES})
        answer.raise_for_status()

        async def opener(index: int) -> None:
            for n in range(index, count, 16):
                response = await http.post(
                    "/opportunities",
                    json={
                        "pipeline_id": "bench",
                        "name": f"Deal {n}",
                        "amount": f"{1000 + n}.50",
                        "currency": "EUR",
                        "expected_close_date": "2026-12-31",
                        "owner_id": f"owner-{n % 20}",
                    },
                )
                response.raise_for_status()
                ids.append(response.json()["id"])

        await asyncio.gather(*(opener(i) for i in range(16)))
    return ids


def stage_changes(
    base_url: str, headers: dict[str, str], ids: list[str], rounds: int
) -> Iterator[vegeta.Target]:
    """Round after round over every opportunity: the same one comes back only after all the
    others, so its previous move has long been answered and its version is known."""
    for round_number in range(rounds):
        stage = STAGES[(round_number + 1) % len(STAGES)]["stage_id"]
        for opportunity_id in ids:
            yield vegeta.Target(
                "POST",
                f"{base_url}/opportunities/{opportunity_id}/stage",
                {**headers, "If-Match": f'"{round_number + 1}"'},
                {"stage_id": stage},
            )


async def seed_forecast_rows(dsn: str, schema: str, tenant: str, count: int) -> None:
    """``count`` opportunities of 50 owners across 2026, some won or lost, in the read model."""
    connection = await asyncpg.connect(dsn)
    try:
        await connection.execute(
            f'INSERT INTO "{schema}".opportunity_versions (opportunity_id, version, tenant_id,'
            " valid_from, status, stage_id, probability, forecast_category, amount, currency,"
            " expected_close_date, owner_id)"
            " SELECT 'seed-' || n, 1, $1, now() - interval '30 days',"
            " (ARRAY['open','open','open','won','lost'])[1 + n % 5],"
            " (ARRAY['qualify','propose','negotiate','commit'])[1 + n % 4],"
            " (ARRAY[10,40,70,90])[1 + n % 4],"
            " (ARRAY['pipeline','pipeline','best_case','commit'])[1 + n % 4],"
            " 100 + (n % 997) * 13.37, (ARRAY['EUR','USD'])[1 + n % 2],"
            " date '2026-01-01' + (n % 365), 'owner-' || (n % 50)"
            " FROM generate_series(1, $2) AS n",
            tenant,
            count,
        )
        await connection.execute(f'ANALYZE "{schema}".opportunity_versions')
    finally:
        await connection.close()


async def forecast_latencies(
    base_url: str, headers: dict[str, str], requests: int
) -> dict[str, float]:
    latencies: list[float] = []
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60) as http:
        for index in range(requests):
            params = {"period": "2026", "group_by": "owner"}
            if index % 2:
                params["as_of"] = datetime.now(UTC).isoformat()
            started = time.perf_counter()
            response = await http.get("/forecast", params=params)
            latencies.append(time.perf_counter() - started)
            response.raise_for_status()
    return {
        "requests": requests,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
    }


async def raw_forecast_sql(dsn: str, schema: str, tenant: str, runs: int) -> dict[str, float]:
    connection = await asyncpg.connect(dsn)
    latencies = []
    try:
        for _ in range(runs):
            started = time.perf_counter()
            await connection.fetch(
                "SELECT owner_id, currency, sum(amount), sum(amount * probability / 100)"
                f' FROM "{schema}".opportunity_versions WHERE tenant_id = $1'
                " AND valid_to IS NULL AND expected_close_date BETWEEN '2026-01-01'"
                " AND '2026-12-31' GROUP BY 1, 2",
                tenant,
            )
            latencies.append(time.perf_counter() - started)
    finally:
        await connection.close()
    return {"p50_ms": percentile(latencies, 50) * 1000, "p99_ms": percentile(latencies, 99) * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description="sales stage changes and forecast queries")
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--opportunities", type=int, default=100_000)
    parser.add_argument("--deals", type=int, default=3000, help="opportunities moved round-robin")
    args = parser.parse_args()

    work = repo_root() / ".local" / "bench-sales"
    with service_under_test("sales") as service:
        dsn, schema = service.dsn, service.schema
        headers = {"X-Tenant-Id": f"bench-{uuid.uuid4().hex[:6]}", "X-Actor-Id": "bench"}
        ids = asyncio.run(open_opportunities(service.url, headers, args.deals))
        rounds = max(2, int(args.seconds * 1500 / len(ids)) + 1)
        targets = work / "stage-targets.jsonl"
        vegeta.write_targets(targets, stage_changes(service.url, headers, ids, rounds))
        moves = vegeta.summary(
            vegeta.attack(repo_root(), targets, args.clients, args.seconds, work / "moves.bin"),
            args.clients,
        )
        forecast_tenant = f"forecast-{uuid.uuid4().hex[:6]}"
        asyncio.run(seed_forecast_rows(dsn, schema, forecast_tenant, args.opportunities))
        forecast_headers = {"X-Tenant-Id": forecast_tenant, "X-Actor-Id": "bench"}
        report: dict[str, Any] = {
            "stage_changes_over_http": moves,
            "forecast_over_http": asyncio.run(
                forecast_latencies(service.url, forecast_headers, 200)
            ),
            "raw_forecast_sql": asyncio.run(raw_forecast_sql(dsn, schema, forecast_tenant, 200)),
            "raw_postgres_single_row_commits": asyncio.run(
                postgres_baseline.single_row_commits(dsn, 32, 200)
            ),
        }
    report["summary"] = {
        "stage_changes_per_s": moves["requests_per_s"],
        "stage_change_p99_ms": moves["p99_ms"],
        "stage_change_failures": moves["failures"],
        "ratio_to_raw_postgres_commits": moves["requests_per_s"]
        / report["raw_postgres_single_row_commits"]["commits_per_s"],
        "forecast_p50_ms": report["forecast_over_http"]["p50_ms"],
        "forecast_p99_ms": report["forecast_over_http"]["p99_ms"],
        "forecast_ratio_to_raw_sql_p50": report["forecast_over_http"]["p50_ms"]
        / report["raw_forecast_sql"]["p50_ms"],
    }
    report["meta"] = {"at": datetime.now(UTC).isoformat(), **vars(args)}
    results.write("sales", report)


if __name__ == "__main__":
    main()
