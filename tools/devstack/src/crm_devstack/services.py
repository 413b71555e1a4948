"""The platform's services, started as detached processes beside Kafka and PostgreSQL."""

from __future__ import annotations

import base64
import os
import shutil
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from crm_devstack.processes import DetachedServer, free_port, spawn_detached, wait_until


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    command: str
    """The console script the service's package installs."""
    port_variable: str
    secret_variables: tuple[str, ...] = ()
    """Secrets the service needs (base64 of 32 random bytes): generated once per stack."""
    links: tuple[tuple[str, str], ...] = ()
    """(variable, service name): the URL of another service this one calls."""
    public_url_variable: str | None = None
    """Where the service learns the URL people reach it at (links it sends out)."""
    extra_ports: tuple[str, ...] = ()
    """Variables of further ports it listens on (an SMTP server, say): free ports, kept."""


SERVICES = (
    ServiceSpec("contacts", "crm-contacts", "CONTACTS_HTTP_PORT", ("CONTACTS_KEY_ENCRYPTION_KEY",)),
    ServiceSpec(
        "sales",
        "crm-sales",
        "SALES_HTTP_PORT",
        ("SALES_KEY_ENCRYPTION_KEY",),
        links=(("SALES_CONTACTS_URL", "contacts"),),
    ),
    ServiceSpec(
        "support",
        "crm-support",
        "SUPPORT_HTTP_PORT",
        ("SUPPORT_KEY_ENCRYPTION_KEY", "SUPPORT_SURVEY_SIGNING_KEY"),
        public_url_variable="SUPPORT_PUBLIC_URL",
        extra_ports=("SUPPORT_SMTP_PORT",),
    ),
    ServiceSpec("analytics", "crm-analytics", "ANALYTICS_HTTP_PORT"),
    ServiceSpec(
        "gateway",
        "crm-gateway",
        "GATEWAY_HTTP_PORT",
        links=(
            ("GATEWAY_CONTACTS_URL", "contacts"),
            ("GATEWAY_SALES_URL", "sales"),
            ("GATEWAY_SUPPORT_URL", "support"),
            ("GATEWAY_ANALYTICS_URL", "analytics"),
        ),
    ),
)

SERVICE_ACCOUNTS = {"sales": ("SALES_CONTACTS_CLIENT_ID", "SALES_CONTACTS_CLIENT_SECRET")}
"""Services that call others with a token of their own: the variables of their account."""


class ServiceProcess(DetachedServer):
    def __init__(self, state_dir: Path, spec: ServiceSpec) -> None:
        super().__init__(state_dir)
        self.spec = spec
        saved = self.state.load()
        self.port = int(saved.get("port") or free_port())
        self.extra_ports = {
            variable: int(saved.get(variable) or free_port()) for variable in spec.extra_ports
        }
        self.log_file = state_dir / "service.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(
        self,
        kafka: str,
        database_url: str,
        timeout: float = 60,
        linked: dict[str, str] | None = None,
        extra: dict[str, str] | None = None,
    ) -> None:
        """``linked``: the URLs of the services this one calls, by service name; ``extra``:
        further variables (the token issuer's, say)."""
        if self.is_running():
            return
        executable = shutil.which(self.spec.command, path=str(Path(sys.executable).parent))
        if executable is None:
            raise RuntimeError(
                f"{self.spec.command} is not installed: run `uv sync --all-packages`"
            )
        environment = {
            **os.environ,
            "DATABASE_URL": database_url,
            "KAFKA_BOOTSTRAP_SERVERS": kafka,
            "CRM_SERVICE_NAME": self.spec.name,
            self.spec.port_variable: str(self.port),
        }
        for variable in self.spec.secret_variables:
            environment.setdefault(variable, self._secret(variable))
        for variable, port in self.extra_ports.items():
            environment.setdefault(variable, str(port))
        if self.spec.public_url_variable:
            environment.setdefault(self.spec.public_url_variable, self.url)
        for variable, service in self.spec.links:
            if linked and service in linked:
                environment.setdefault(variable, linked[service])
        for variable, value in (extra or {}).items():
            environment.setdefault(variable, value)
        pid = spawn_detached([executable], self.log_file, env=environment)
        self.state.save(pid=pid, port=self.port, **self.extra_ports)
        wait_until(
            self._healthy, timeout, f"{self.spec.name} answering on {self.url}", self.log_file
        )

    def _secret(self, variable: str) -> str:
        """A local stack's secret, kept (owner-only) in its state folder across restarts."""
        path = self.state_dir / f"{variable.lower()}.secret"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(base64.b64encode(os.urandom(32)).decode())
        return path.read_text().strip()

    def _healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/readyz", timeout=1) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False
