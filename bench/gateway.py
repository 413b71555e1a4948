"""The 360-degree view through the gateway: write-to-visible latency under a steady load, and
360 reads per second.

    uv run python -m bench.gateway [--rate 200] [--seconds 30] [--read-seconds 20]
        [--read-rate 1000]

Starts the whole platform as processes (issuer, every service, the gateway) on topics and
schemas of the run's own. Writes: contacts are changed through the gateway at ``--rate`` per
second (open loop: each write is sent on its schedule whether or not the previous answered);
one in five is followed until the change is in the read model the customer's view reads (its
timeline, the part of the 360 view the change lands in; one query every 20 ms for all the
followed writes, so that the watching does not become the load), so its latency runs from just
before the write is sent until any 360 read would show it (give or take the 20 ms); what a read
itself costs is the second measurement. Reads:
vegeta asks for the full 360 view of the same customers at 32 connections, measured after a
warm-up of ``--read-warmup-seconds`` (3 s) whose reads are not counted: how many the platform
answers (a closed loop, each connection asking again as soon as it is answered, so its p99 is
that of the queue 32 connections keep full: p50 is 32 divided by the rate). Then the same reads
sent on schedule at ``--read-rate`` a second (1,000, the target's) whatever the answers: how
long a read takes at that load (an open loop; a platform that cannot keep up falls behind and
its latencies grow without bound).

Baselines in the same run: raw aiokafka produce-to-consume latency at the same rate, and a
raw asyncpg read of one read-model row at 32 connections. Writes
bench/results/gateway-<time>.json and gateway-latest.json.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import aiohttp
import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench import results, vegeta
from bench.stats import percentile
from crm_devstack.cleanup import drop_run_data_now
from crm_devstack.issuer import IssuerProcess
from crm_devstack.platform import platform_processes
from crm_devstack.processes import repo_root
from crm_devstack.stack import session_stack

STAGES = ["subscriber", "lead", "marketing_qualified", "sales_qualified", "opportunity"]


async def create_customers(
    api: aiohttp.ClientSession, headers: dict[str, str], count: int
) -> dict[str, str]:
    """``count`` contacts and the ETag of each."""
    etags: dict[str, str] = {}

    async def creator(index: int) -> None:
        for n in range(index, count, 16):
            body = {"last_name": f"Customer {n}"}
            async with api.post("/contacts", json=body, headers=headers) as made:
                made.raise_for_status()
                etags[(await made.json())["id"]] = made.headers["ETag"]

    await asyncio.gather(*(creator(i) for i in range(16)))
    return etags


class Visibility:
    """When a change becomes visible: one query of the read model the 360 view reads (its
    timeline) every 20 ms for every followed write at once, so following many writes costs the
    platform almost nothing (asking the API 20 times a second per write was most of the load)."""

    def __init__(self, dsn: str, schema: str, tenant: str) -> None:
        self.dsn, self.schema, self.tenant = dsn, schema, tenant
        self.pending: dict[str, float] = {}
        self.latencies: list[float] = []

    def follow(self, customer: str, since: float) -> None:
        self.pending.setdefault(customer, since)

    async def run(self, stop: asyncio.Event) -> None:
        connection = await asyncpg.connect(self.dsn)
        query = (
            f'SELECT customer_id, max(at) AS newest FROM "{self.schema}".timeline'
            " WHERE tenant_id = $1 AND customer_id = ANY($2::text[]) GROUP BY customer_id"
        )
        try:
            while not (stop.is_set() and not self.pending):
                if self.pending:
                    rows = await connection.fetch(query, self.tenant, list(self.pending))
                    now = time.time()
                    for row in rows:
                        since = self.pending.get(row["customer_id"])
                        if since is not None and row["newest"].timestamp() >= since:
                            self.latencies.append(now - since)
                            del self.pending[row["customer_id"]]
                    for customer, since in list(self.pending.items()):
                        if now - since > 30:
                            del self.pending[customer]  # counted as not seen
                await asyncio.sleep(0.02)
        finally:
            await connection.close()


async def write_to_visible(
    api: aiohttp.ClientSession,
    headers: dict[str, str],
    etags: dict[str, str],
    visibility: Visibility,
    rate: float,
    seconds: float,
    every: int = 5,
) -> dict[str, Any]:
    ids = list(etags)
    failures = 0
    tasks: list[asyncio.Task[None]] = []
    locks = {i: asyncio.Lock() for i in ids}
    done: list[float] = []
    followed = 0
    failed: Counter[str] = Counter()
    answered: list[float] = []

    async def write(n: int, customer: str) -> None:
        nonlocal failures, followed
        async with locks[customer]:  # one change of a customer at a time (its ETag)
            since = time.time()
            try:
                async with api.patch(
                    f"/contacts/{customer}",
                    # each round over the customers moves every one to the next stage: a
                    # write that changes nothing would publish nothing
                    json={"lifecycle_stage": STAGES[(n // len(ids)) % len(STAGES)]},
                    headers={**headers, "If-Match": etags[customer]},
                ) as changed:
                    await changed.read()
                    status, etag = changed.status, changed.headers.get("ETag")
            except (aiohttp.ClientError, TimeoutError) as error:
                failures += 1
                failed[type(error).__name__] += 1
                return
            if status != 200 or etag is None:
                failures += 1
                failed[str(status)] += 1
                return
            etags[customer] = etag
            done.append(time.monotonic())
            answered.append(time.time() - since)
            if n % every == 0 and customer not in visibility.pending:
                followed += 1
                visibility.follow(customer, since)

    stop = asyncio.Event()
    watching = asyncio.create_task(visibility.run(stop))
    started = time.monotonic()
    for n in itertools.count():
        due = started + n / rate
        if due - started >= seconds:
            break
        await asyncio.sleep(max(0.0, due - time.monotonic()))
        tasks.append(asyncio.create_task(write(n, ids[n % len(ids)])))
    await asyncio.gather(*tasks)
    elapsed = (max(done) if done else time.monotonic()) - started
    stop.set()
    await watching
    latencies = visibility.latencies
    return {
        "offered_writes_per_s": rate,
        "writes": len(tasks),
        "achieved_writes_per_s": len(done) / elapsed,
        "failures": failures,
        "failures_by_kind": dict(failed),
        "write_answer_p50_ms": percentile(answered, 50) * 1000,
        "write_answer_p99_ms": percentile(answered, 99) * 1000,
        "followed": followed,
        "seen": len(latencies),
        "p50_ms": percentile(latencies, 50) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "max_ms": max(latencies, default=0.0) * 1000,
    }


def reads(base_url: str, headers: dict[str, str], ids: list[str]) -> Iterator[vegeta.Target]:
    for customer in itertools.cycle(ids):
        yield vegeta.Target("GET", f"{base_url}/customers/{customer}/360", headers)


async def raw_kafka_latency(
    bootstrap: str, topic: str, rate: float, seconds: float
) -> dict[str, float]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await producer.start()
    await producer.send_and_wait(topic, b"warm-up")
    await consumer.start()
    latencies: list[float] = []
    count = int(rate * seconds)

    async def consume() -> None:
        async for record in consumer:
            if record.value != b"warm-up":
                latencies.append(time.time() - float(record.value or b"0"))
                if len(latencies) >= count:
                    return

    consuming = asyncio.create_task(consume())
    started = time.monotonic()
    for n in range(count):
        await asyncio.sleep(max(0.0, started + n / rate - time.monotonic()))
        await producer.send(topic, str(time.time()).encode())
    await asyncio.wait_for(consuming, 60)
    await producer.stop()
    await consumer.stop()
    return {"p50_ms": percentile(latencies, 50) * 1000, "p99_ms": percentile(latencies, 99) * 1000}


async def raw_row_reads(dsn: str, schema: str, tenant: str, seconds: float) -> dict[str, float]:
    pool = await asyncpg.create_pool(dsn, min_size=32, max_size=32)
    assert pool is not None
    latencies: list[float] = []
    async with pool.acquire() as connection:
        ids = [
            r["entity_id"]
            for r in await connection.fetch(
                f'SELECT entity_id FROM "{schema}".entities WHERE tenant_id = $1', tenant
            )
        ]
    deadline = time.monotonic() + seconds

    async def reader(offset: int) -> None:
        async with pool.acquire() as connection:
            for n in itertools.count(offset):
                if time.monotonic() > deadline:
                    return
                started = time.perf_counter()
                await connection.fetchrow(
                    f'SELECT data FROM "{schema}".entities WHERE tenant_id = $1'
                    " AND kind = 'contact' AND entity_id = $2",
                    tenant,
                    ids[n % len(ids)],
                )
                latencies.append(time.perf_counter() - started)

    await asyncio.gather(*(reader(i) for i in range(32)))
    await pool.close()
    return {
        "reads_per_s": len(latencies) / seconds,
        "p99_ms": percentile(latencies, 99) * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="write-to-visible and 360 reads")
    parser.add_argument("--rate", type=float, default=200, help="writes per second")
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--read-seconds", type=float, default=20)
    parser.add_argument(
        "--read-warmup-seconds",
        type=float,
        default=3,
        help="reads before the measured ones, not counted: the 32 connections are opened, the"
        " gateway's to each service and the services' prepared statements made (as the"
        " contacts benchmark warms up)",
    )
    parser.add_argument(
        "--read-rate",
        type=int,
        default=1000,
        help="reads a second sent on schedule (open loop) after the closed-loop reads: the p99 at"
        " the target's rate, where the closed loop's p99 is that of the queue its 32 connections"
        " keep full",
    )
    parser.add_argument("--customers", type=int, default=400)
    parser.add_argument("--results-name", default="gateway", help="bench/results/<name>-*.json")
    args = parser.parse_args()

    name = f"bench{uuid.uuid4().hex[:6]}"
    work = repo_root() / ".local" / "bench-gateway"
    issuer_process = IssuerProcess(work / "issuer")
    with session_stack(repo_root() / ".local" / "stack") as endpoints:
        issuer_process.start()
        issuer = issuer_process.issuer()
        try:
            with platform_processes(endpoints, issuer, work, name) as urls:
                tenant = f"{name}-tenant"
                dsn = endpoints.database_url.replace("+asyncpg", "")
                headers = {"Authorization": f"Bearer {issuer.mint('ada', tenant, ['admin'])}"}

                async def writes() -> tuple[dict[str, str], dict[str, Any]]:
                    # aiohttp itself: the load generator shares the machine's two cores with
                    # the platform, so its CPU is taken from what it measures (httpx's own
                    # pool took most of a core at 200 writes/s, httpx over aiohttp a third)
                    async with aiohttp.ClientSession(
                        base_url=urls["gateway"],
                        timeout=aiohttp.ClientTimeout(total=30),
                        connector=aiohttp.TCPConnector(limit=400, keepalive_timeout=4.0),
                    ) as api:
                        etags = await create_customers(api, headers, args.customers)
                        await asyncio.sleep(3)  # the read models take the creations in
                        visibility = Visibility(dsn, f"{name}_analytics", tenant)
                        measured = await write_to_visible(
                            api, headers, etags, visibility, args.rate, args.seconds
                        )
                        return etags, measured

                etags, visible = asyncio.run(writes())
                targets = work / "read-targets.jsonl"
                vegeta.write_targets(
                    targets,
                    itertools.islice(reads(urls["gateway"], headers, list(etags)), 200_000),
                )
                if args.read_warmup_seconds > 0:
                    vegeta.attack(
                        repo_root(), targets, 32, args.read_warmup_seconds, work / "r-warmup.bin"
                    )
                read = vegeta.summary(
                    vegeta.attack(repo_root(), targets, 32, args.read_seconds, work / "r.bin"),
                    32,
                )
                at_rate = vegeta.summary(
                    vegeta.attack(
                        repo_root(),
                        targets,
                        32,
                        args.read_seconds,
                        work / "r-at-rate.bin",
                        rate=args.read_rate,
                    ),
                    32,
                )
                report: dict[str, Any] = {
                    "write_to_visible": visible,
                    "reads_of_360_over_http": read,
                    "reads_of_360_at_a_steady_rate": {"offered_per_s": args.read_rate, **at_rate},
                    "raw_kafka_produce_to_consume": asyncio.run(
                        raw_kafka_latency(
                            endpoints.kafka_bootstrap_servers, f"{name}-latency", args.rate, 10
                        )
                    ),
                    "raw_postgres_row_reads": asyncio.run(
                        raw_row_reads(dsn, f"{name}_analytics", tenant, 5)
                    ),
                }
        finally:
            issuer_process.stop()
            # the run's schemas and topics (its name is in each), once its processes are gone
            drop_run_data_now(endpoints.database_url, endpoints.kafka_bootstrap_servers, [name])
    report["summary"] = {
        "write_to_visible_p50_ms": visible["p50_ms"],
        "write_to_visible_p99_ms": visible["p99_ms"],
        "achieved_writes_per_s": visible["achieved_writes_per_s"],
        "write_failures": visible["failures"],
        "reads_360_per_s": read["requests_per_s"],
        "read_360_p99_ms": read["p99_ms"],
        "read_failures": read["failures"],
        "reads_360_at_rate_offered_per_s": args.read_rate,
        "reads_360_at_rate_per_s": at_rate["requests_per_s"],
        "read_360_at_rate_p50_ms": at_rate["p50_ms"],
        "read_360_at_rate_p99_ms": at_rate["p99_ms"],
        "read_at_rate_failures": at_rate["failures"],
        "raw_kafka_p99_ms": report["raw_kafka_produce_to_consume"]["p99_ms"],
        "raw_postgres_reads_per_s": report["raw_postgres_row_reads"]["reads_per_s"],
        "targets": {
            "write_to_visible_p99 < 1000 ms at 200 writes/s": visible["p99_ms"] < 1000
            and visible["achieved_writes_per_s"] >= 0.95 * 200,
            "reads >= 1000/s": read["requests_per_s"] >= 1000,
            "read p99 < 50 ms": read["p99_ms"] < 50,
            f"read p99 < 50 ms at {args.read_rate} reads/s offered (open loop)": at_rate["p99_ms"]
            < 50
            and at_rate["failures"] == 0
            and at_rate["requests_per_s"] >= 0.95 * args.read_rate,
        },
    }
    report["meta"] = {"at": datetime.now(UTC).isoformat(), **vars(args)}
    results.write(args.results_name, report)


if __name__ == "__main__":
    main()
