"""Every service of the platform as processes of their own, the way ``./crm up`` runs them,
on topics, consumer groups and schemas named after ``name`` (so that a test or a benchmark
never shares them with another run): for end-to-end tests and benchmarks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from crm_devstack.issuer import DevIssuer
from crm_devstack.services import SERVICE_ACCOUNTS, SERVICES, ServiceProcess
from crm_devstack.stack import Endpoints


@contextmanager
def platform_processes(
    endpoints: Endpoints,
    issuer: DevIssuer,
    state_dir: Path,
    name: str,
    settings: dict[str, str] | None = None,
) -> Iterator[dict[str, str]]:
    """The services' URLs by name (the gateway's under ``gateway``), stopped on leaving."""
    urls: dict[str, str] = {}
    started: list[ServiceProcess] = []
    common = {
        "CRM_AUTH_ISSUER": issuer.url,
        "CRM_TOPIC_PREFIX": name,
        "CRM_LOG_LEVEL": "WARNING",
        **(settings or {}),
    }
    try:
        for spec in SERVICES:
            extra = {**common, f"{spec.name.upper()}_DB_SCHEMA": f"{name}_{spec.name}"}
            account = SERVICE_ACCOUNTS.get(spec.name)
            if account is not None:
                client = f"crm-{spec.name}"
                extra |= {account[0]: client, account[1]: issuer.clients[client]["secret"]}
            process = ServiceProcess(state_dir / spec.name, spec)
            process.start(
                endpoints.kafka_bootstrap_servers, endpoints.database_url, linked=urls, extra=extra
            )
            started.append(process)
            urls[spec.name] = process.url
        yield urls
    finally:
        for process in reversed(started):
            process.stop()
