"""Configuration, only from environment variables, documented in one generated list.

``python -m crm_shared.settings`` prints the Markdown table of every variable; the committed
``docs/configuration.md`` is that output, and a test fails when it is stale. Each service
adds a settings class of its own with a prefix (``CONTACTS_...``) and lists it in ``DOCUMENTED``.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class PlatformSettings(BaseSettings):
    """Settings every service shares: where Kafka and PostgreSQL are, and how to behave."""

    model_config = SettingsConfigDict(env_prefix="CRM_", extra="ignore", frozen=True)

    database_url: str = Field(
        "postgresql://postgres@127.0.0.1:5432/crm",
        validation_alias=AliasChoices("DATABASE_URL"),
        description="PostgreSQL URL (postgresql:// or postgresql+asyncpg://); each service "
        "keeps its tables in a schema of its own in this database.",
    )
    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092",
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS"),
        description="Comma-separated host:port list of Kafka brokers.",
    )
    service_name: str = Field("crm", description="Name of the service in logs, metrics and traces.")
    relay_batch_size: int = Field(
        500, ge=1, le=10_000, description="Events the outbox relay reads and publishes at once."
    )
    relay_poll_interval_ms: int = Field(
        20, ge=1, le=10_000, description="How long the relay waits before looking for new events."
    )
    consumer_max_retries: int = Field(
        3,
        ge=0,
        le=100,
        description="Retries of a failing event before it goes to the dead-letter topic.",
    )
    consumer_retry_backoff_ms: int = Field(
        200, ge=0, description="First retry delay; it doubles with each retry."
    )
    consumer_graceful_timeout_s: float = Field(
        25.0,
        gt=0,
        description="On SIGTERM, how long a consumer may finish the batch in hand; keep the "
        "pod's terminationGracePeriodSeconds above it.",
    )
    otel_exporter_otlp_endpoint: str | None = Field(
        None,
        validation_alias=AliasChoices("OTEL_EXPORTER_OTLP_ENDPOINT"),
        description="OTLP/HTTP endpoint for traces (e.g. http://otel-collector:4318); "
        "no traces are exported when unset.",
    )
    otel_service_name: str | None = Field(
        None,
        validation_alias=AliasChoices("OTEL_SERVICE_NAME"),
        description="Service name in traces; defaults to CRM_SERVICE_NAME.",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Lowest level of log records written."
    )
    log_format: Literal["json", "console"] = Field(
        "json", description="json: one JSON object per line with trace ids; console: for humans."
    )

    @property
    def async_database_url(self) -> str:
        """The URL for SQLAlchemy's asyncpg driver, whichever form was configured."""
        return async_database_url(self.database_url)

    @property
    def trace_service_name(self) -> str:
        return self.otel_service_name or self.service_name


def async_database_url(url: str) -> str:
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    raise ValueError(f"not a PostgreSQL URL: {url!r}")


DOCUMENTED: list[type[BaseSettings]] = [PlatformSettings]


def environment_variable(settings: type[BaseSettings], field_name: str) -> str:
    field = settings.model_fields[field_name]
    alias = field.validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    prefix = settings.model_config.get("env_prefix", "")
    return f"{prefix}{field_name}".upper()


def section(settings: type[BaseSettings]) -> str:
    """The Markdown table of one settings class."""
    lines = [f"## {settings.__name__}", "", (settings.__doc__ or "").strip(), ""]
    lines += ["| variable | type | default | description |", "| --- | --- | --- | --- |"]
    for name, field in settings.model_fields.items():
        annotation = str(field.annotation).replace("typing.", "").replace("<class '", "")
        annotation = annotation.replace("'>", "").replace("|", "or")
        default = "(none)" if field.default is None else f"`{field.default}`"
        lines.append(
            f"| `{environment_variable(settings, name)}` | {annotation} | {default} "
            f"| {field.description or ''} |"
        )
    return "\n".join(lines) + "\n"


def markdown(classes: Sequence[type[BaseSettings]] = DOCUMENTED) -> str:
    header = [
        "# Configuration",
        "",
        "Every setting comes from an environment variable. This page is generated by",
        "`python -m crm_shared.settings crm_contacts.config:ContactsSettings`;",
        "tests fail when it is out of date.",
        "",
    ]
    return "\n".join(header) + "\n".join(section(settings) for settings in classes)


def _load(target: str) -> type[BaseSettings]:
    module, _, name = target.partition(":")
    loaded: type[BaseSettings] = getattr(importlib.import_module(module), name)
    return loaded


if __name__ == "__main__":
    sys.stdout.write(markdown([*DOCUMENTED, *(_load(target) for target in sys.argv[1:])]))
