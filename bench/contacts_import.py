"""Contacts import benchmark: a generated 100,000-row CSV through the real service.

    uv run python -m bench.contacts_import [--rows 100000]

Generates the file on disk (1 % bad rows, 2 % duplicates of earlier rows), starts the contacts
service process as `./crm up` does, uploads the file, polls the import until it completes and
reports rows per second (upload excluded, then included) and the service process's peak
resident memory (VmHWM). The outbox relay runs as a process of its own, as deployed
(`python -m crm_shared.relay`), publishing the imported contacts while the import runs.
Baseline in the same run: the same rows copied into a bare table by
PostgreSQL's COPY (asyncpg). Writes bench/results/contacts-import-<time>.json and
contacts-import-latest.json. Targets: 5,000 rows/s, peak memory under 300 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench import results
from crm_devstack.processes import repo_root

MAPPING = {
    "first": "first_name",
    "last": "last_name",
    "email": "email",
    "phone": "phone",
    "country": "address.country",
    "stage": "lifecycle_stage",
    "tags": "tags",
}
COUNTRIES = ["GB", "FR", "DE", "US", "NL", "ES", "IT", "SE"]


def generate(path: Path, rows: int) -> None:
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(list(MAPPING))
        for n in range(rows):
            source = n - 1000 if n % 50 == 49 and n > 1000 else n  # 2 %: an earlier row again
            email = f"person{source}@example.com" if n % 100 != 7 else "not an email"  # 1 % bad
            writer.writerow(
                [
                    f"First{source}",
                    f"Last{source}",
                    email,
                    f"+4420{7000000 + source % 999999:07d}" if n % 3 == 0 else "",
                    COUNTRIES[source % len(COUNTRIES)],
                    "lead" if n % 2 else "customer",
                    "imported;batch",
                ]
            )


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def run_import(base_url: str, path: Path, tenant: str) -> dict[str, Any]:
    headers = {"X-Tenant-Id": tenant, "X-Actor-Id": "bench"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=600) as http:
        started = time.perf_counter()
        with path.open("rb") as file:
            answer = await http.post(
                "/imports",
                files={"file": ("contacts.csv", file, "text/csv")},
                data={"mapping": json.dumps(MAPPING), "on_duplicate": "skip"},
            )
        answer.raise_for_status()
        uploaded = time.perf_counter()
        while True:
            status = (await http.get(answer.headers["Location"])).json()
            if status["status"] in ("completed", "failed"):
                break
            await asyncio.sleep(0.2)
        finished = time.perf_counter()
    rows = status["rows_done"]
    return {
        "status": status["status"],
        "rows": rows,
        "created": status["created"],
        "skipped": status["skipped"],
        "failed": status["failed"],
        "upload_s": uploaded - started,
        "processing_s": finished - uploaded,
        "rows_per_s": rows / (finished - uploaded),
        "rows_per_s_including_upload": rows / (finished - started),
    }


async def raw_copy(dsn: str, path: Path) -> dict[str, float]:
    connection = await asyncpg.connect(dsn)
    table = f"bench_copy_{uuid.uuid4().hex[:8]}"
    try:
        await connection.execute(
            f"CREATE TABLE {table} (first text, last text, email text, phone text,"
            " country text, stage text, tags text)"
        )
        started = time.perf_counter()
        with path.open("rb") as source:
            await connection.copy_to_table(table, source=source, format="csv", header=True)
        elapsed = time.perf_counter() - started
        count = await connection.fetchval(f"SELECT count(*) FROM {table}")
        await connection.execute(f"DROP TABLE {table}")
    finally:
        await connection.close()
    return {"rows": count, "seconds": elapsed, "rows_per_s": count / elapsed}


def main() -> None:
    parser = argparse.ArgumentParser(description="contacts CSV import throughput and memory")
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()

    from crm_devstack.cleanup import drop_run_data_now
    from crm_devstack.services import SERVICES, ServiceProcess
    from crm_devstack.stack import session_stack

    work = repo_root() / ".local" / "bench-import"
    work.mkdir(parents=True, exist_ok=True)
    path = work / "contacts.csv"
    generate(path, args.rows)
    with session_stack(repo_root() / ".local" / "stack") as endpoints:
        schema = f"bench_import_{uuid.uuid4().hex[:6]}"
        os.environ["CONTACTS_DB_SCHEMA"] = schema
        os.environ["CRM_LOG_LEVEL"] = "WARNING"
        os.environ["CONTACTS_RUN_RELAY"] = "false"  # the relay runs as its own process
        [spec] = [s for s in SERVICES if s.name == "contacts"]
        service = ServiceProcess(work / "service", spec)
        service.start(endpoints.kafka_bootstrap_servers, endpoints.database_url)
        relay = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "crm_shared.relay",
                "--schema",
                schema,
                "--topic",
                "crm.contacts.events",
            ],
            env={
                **os.environ,
                "DATABASE_URL": endpoints.database_url,
                "KAFKA_BOOTSTRAP_SERVERS": endpoints.kafka_bootstrap_servers,
            },
        )
        try:
            pid = int(service.state.load()["pid"])
            result = asyncio.run(run_import(service.url, path, f"bench-{uuid.uuid4().hex[:6]}"))
            result["service_peak_rss_mb"] = peak_rss_mb(pid)
            baseline = asyncio.run(raw_copy(endpoints.database_url.replace("+asyncpg", ""), path))
        finally:
            relay.terminate()
            relay.wait(30)
            service.stop()
            drop_run_data_now(endpoints.database_url, endpoints.kafka_bootstrap_servers, [schema])
    report: dict[str, Any] = {
        "import_over_http": result,
        "raw_postgres_copy": baseline,
        "file_bytes": path.stat().st_size,
        "summary": {
            "rows_per_s": result["rows_per_s"],
            "rows_per_s_including_upload": result["rows_per_s_including_upload"],
            "service_peak_rss_mb": result["service_peak_rss_mb"],
            "ratio_to_raw_copy": result["rows_per_s"] / baseline["rows_per_s"],
            "targets": {
                "rows_per_s >= 5000": result["rows_per_s"] >= 5000,
                "peak memory < 300 MB": result["service_peak_rss_mb"] < 300,
            },
        },
        "meta": {"at": datetime.now(UTC).isoformat(), **vars(args)},
    }
    results.write("contacts-import", report)


if __name__ == "__main__":
    main()
