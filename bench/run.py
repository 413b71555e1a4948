"""Run every platform benchmark against a real broker and database; write bench/results/.

    uv run python -m bench.run [--repeat 3] [--quick]

Each scenario runs ``--repeat`` times; the medians are reported, with the baselines measured in
the same run (raw aiokafka, raw asyncpg) and the ratios to them. The machines are shared and
noisy: compare ratios and medians, not single figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import subprocess
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import create_async_engine

from bench import appends, end_to_end, kafka_baseline, postgres_baseline
from bench.stats import median
from crm_devstack.cleanup import drop_run_data
from crm_shared.eventstore import upgrade

RESULTS = Path(__file__).parent / "results"

TARGETS = {
    "single_event_commands_per_s": 3000,
    "batched_events_per_s": 30000,
    "end_to_end_ratio_to_raw_kafka": 0.40,
    "end_to_end_p99_ms_at_1000_per_s": 200,
}


async def repeated(
    times: int, scenario: Callable[[], Awaitable[dict[str, float]]]
) -> dict[str, Any]:
    runs = [await scenario() for _ in range(times)]
    return {
        "runs": runs,
        "median": {key: median([run[key] for run in runs]) for key in runs[0]},
    }


def asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def sqlalchemy_url(url: str) -> str:
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url


async def run(repeat: int, quick: bool, bootstrap: str, database_url: str) -> dict[str, Any]:
    scale = 0.2 if quick else 1.0
    url = sqlalchemy_url(database_url)
    engine = create_async_engine(url, pool_size=40, max_overflow=10)
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    await upgrade(url, schema)
    results: dict[str, Any] = {}
    try:
        results["a_raw_kafka"] = await repeated(
            repeat, lambda: kafka_baseline.produce_and_consume(bootstrap, int(50_000 * scale))
        )
        results["raw_postgres_single_row_commits"] = await repeated(
            repeat,
            lambda: postgres_baseline.single_row_commits(asyncpg_dsn(url), 32, int(200 * scale)),
        )
        results["b_single_event_commands"] = await repeated(
            repeat, lambda: appends.single_event_commands(engine, schema, 32, int(200 * scale))
        )
        results["b_batches_of_100"] = await repeated(
            repeat, lambda: appends.batched_appends(engine, schema, 8, int(40 * scale))
        )
        results["c_end_to_end_throughput"] = await repeated(
            repeat, lambda: end_to_end.throughput(engine, url, bootstrap, int(50_000 * scale))
        )
        results["c_end_to_end_latency_at_1000_per_s"] = await repeated(
            repeat,
            lambda: end_to_end.latency_at_fixed_rate(
                engine, url, bootstrap, rate=1000, seconds=20 * scale
            ),
        )
    finally:
        await engine.dispose()
        await drop_run_data(database_url, bootstrap, [schema])

    raw_kafka = results["a_raw_kafka"]["median"]["produce_consume_msgs_per_s"]
    raw_pg = results["raw_postgres_single_row_commits"]["median"]["commits_per_s"]
    summary = {
        "single_event_commands_per_s": results["b_single_event_commands"]["median"][
            "commands_per_s"
        ],
        "batched_events_per_s": results["b_batches_of_100"]["median"]["events_per_s"],
        "single_event_commands_ratio_to_raw_postgres": results["b_single_event_commands"]["median"][
            "commands_per_s"
        ]
        / raw_pg,
        "end_to_end_events_per_s": results["c_end_to_end_throughput"]["median"][
            "end_to_end_events_per_s"
        ],
        "end_to_end_ratio_to_raw_kafka": results["c_end_to_end_throughput"]["median"][
            "end_to_end_events_per_s"
        ]
        / raw_kafka,
        "end_to_end_p50_ms_at_1000_per_s": results["c_end_to_end_latency_at_1000_per_s"]["median"][
            "p50_ms"
        ],
        "end_to_end_p99_ms_at_1000_per_s": results["c_end_to_end_latency_at_1000_per_s"]["median"][
            "p99_ms"
        ],
    }
    verdicts = {
        name: {
            "target": target,
            "measured": summary[name],
            "met": summary[name] <= target
            if name.endswith("_ms_at_1000_per_s")
            else summary[name] >= target,
        }
        for name, target in TARGETS.items()
    }
    return {"summary": summary, "targets": verdicts, "scenarios": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="a fifth of the work, for smoke runs")
    args = parser.parse_args()
    from crm_devstack.stack import repo_root, session_stack

    with session_stack(repo_root() / ".local" / "stack") as endpoints:
        report = asyncio.run(
            run(args.repeat, args.quick, endpoints.kafka_bootstrap_servers, endpoints.database_url)
        )
    report["meta"] = {
        "at": datetime.now(UTC).isoformat(),
        "repeat": args.repeat,
        "quick": args.quick,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {_cpus()} cores",
        "commit": _commit(),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    text = json.dumps(report, indent=2, sort_keys=True) + "\n"
    (RESULTS / f"platform-{stamp}.json").write_text(text)
    (RESULTS / "platform-latest.json").write_text(text)
    print(json.dumps({"summary": report["summary"], "targets": report["targets"]}, indent=2))


def _cpus() -> int:
    import os

    return os.cpu_count() or 0


def _commit() -> str:
    result = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
        cwd=Path(__file__).parent,
    )
    return result.stdout.strip()


if __name__ == "__main__":
    main()
