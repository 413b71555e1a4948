"""Run a service's outbox relay as a process of its own.

    python -m crm_shared.relay --schema contacts [--topic crm.contacts.events] [--metrics-port 9464]

Everything else comes from the environment (docs/configuration.md). Every replica may run
one: a single relay per topic publishes, the others wait for its lock. SIGTERM stops it after
the batch in hand.
"""

from __future__ import annotations

import argparse
import asyncio
import signal

from prometheus_client import CollectorRegistry, start_http_server

from crm_shared.database import database_engine
from crm_shared.relay.relay import OutboxRelay, RelayConfig
from crm_shared.settings import PlatformSettings
from crm_shared.telemetry import RelayMetrics, configure_logging, configure_tracing


async def run(schema: str, topic: str, metrics_port: int | None) -> None:
    settings = PlatformSettings()
    configure_logging(settings.service_name, settings.log_level, settings.log_format)
    configure_tracing(settings.trace_service_name, settings.otel_exporter_otlp_endpoint)
    registry = CollectorRegistry()
    if metrics_port:
        start_http_server(metrics_port, registry=registry)
    engine = database_engine(settings, pool_size=3)
    relay = OutboxRelay(
        engine,
        RelayConfig(
            schema=schema,
            topic=topic,
            source=f"/crm/{settings.service_name}",
            bootstrap_servers=settings.kafka_bootstrap_servers,
            batch_size=settings.relay_batch_size,
            poll_interval=settings.relay_poll_interval_ms / 1000,
            idle_poll_max=settings.relay_idle_poll_max_ms / 1000,
        ),
        RelayMetrics(registry, service=settings.service_name, topic=topic),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        await relay.run(stop)
    finally:
        await relay.close()
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m crm_shared.relay")
    parser.add_argument("--schema", required=True, help="the service's PostgreSQL schema")
    parser.add_argument("--topic", help="default: crm.<schema>.events")
    parser.add_argument("--metrics-port", type=int, help="serve Prometheus metrics on this port")
    args = parser.parse_args()
    asyncio.run(run(args.schema, args.topic or f"crm.{args.schema}.events", args.metrics_port))


if __name__ == "__main__":
    main()
