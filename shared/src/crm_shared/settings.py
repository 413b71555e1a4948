"""Configuration, only from environment variables, documented in one generated list.

Every process reads ``PlatformSettings`` and, composed beside it (not subclassed), a settings
class of its own with a prefix (``ContactsSettings``: ``CONTACTS_...``). Composition keeps each
variable in exactly one class, so the documentation lists it once.

``python -m crm_shared.settings [module:Class ...]`` prints the Markdown table of every
variable of ``PlatformSettings`` and of the classes named; ``docs/configuration.md`` is that
output, committed. The document names the command that made it, so a test (or
``python -m crm_shared.settings --check docs/configuration.md``) regenerates it from the same
classes and fails when it is stale. A new service adds its class to that command.
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
import types
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import AliasChoices, Field, field_validator
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined
from pydantic_settings import BaseSettings, SettingsConfigDict

_POSTGRES_SCHEMES = re.compile(r"^(postgres|postgresql)(\+[a-z0-9_]+)?://", re.IGNORECASE)


class PlatformSettings(BaseSettings):
    """Settings every service shares: where Kafka and PostgreSQL are, and how to behave."""

    model_config = SettingsConfigDict(
        env_prefix="CRM_",
        extra="ignore",
        frozen=True,
        validate_by_name=True,
        validate_by_alias=True,
    )

    database_url: str = Field(
        "postgresql://postgres@127.0.0.1:5432/crm",
        validation_alias=AliasChoices("DATABASE_URL"),
        description="PostgreSQL URL, postgresql://user:password@host:port/database "
        "(a postgresql+asyncpg:// URL is accepted too); each service keeps its tables in a "
        "schema of its own in this database.",
    )
    db_pool_size: int = Field(
        20,
        ge=1,
        le=1_000,
        description="PostgreSQL connections each process keeps open and reuses; work that"
        " finds them all busy waits for one (up to CRM_DB_POOL_TIMEOUT_S) rather than opening"
        " and closing more, so the database sees at most this many per process.",
    )
    db_pool_timeout_s: float = Field(
        30.0,
        gt=0,
        description="How long work may wait for a free PostgreSQL connection before it fails"
        " (503 over HTTP; a consumer retries the event).",
    )
    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092",
        validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS"),
        description="Comma-separated host:port list of Kafka brokers.",
    )
    service_name: str = Field(
        "crm", min_length=1, description="Name of the service in logs, metrics and traces."
    )
    relay_batch_size: int = Field(
        500, ge=1, le=10_000, description="Events the outbox relay reads and publishes at once."
    )
    relay_poll_interval_ms: int = Field(
        20,
        ge=1,
        le=10_000,
        description="How long the relay first waits when it found no new events (each empty"
        " look doubles the wait; a commit in the same process ends it at once).",
    )
    relay_idle_poll_max_ms: int = Field(
        250,
        ge=1,
        le=60_000,
        description="The longest the idle relay waits between looks: how late it may notice"
        " events committed by another replica.",
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
        description="OTLP/HTTP collector base URL (e.g. http://otel-collector:4318; traces go "
        "to its /v1/traces); no traces are exported when unset.",
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
        "json",
        description="json: one JSON object per line, with trace ids; console: lines for humans.",
    )
    access_log: bool = Field(
        False,
        description="Write a log line (INFO) for every HTTP request answered. Off by default,"
        " as in most servers: every request is counted and timed in the metrics (by route and"
        " status) and traced, errors are logged, and the line cost a sixth of a small request's"
        " CPU; an ingress or mesh usually keeps access logs.",
    )
    topic_prefix: str = Field(
        "crm",
        pattern=r"^[A-Za-z0-9._-]+$",
        description="First part of every topic and consumer group name: <prefix>.<service>.events"
        " and <prefix>-<service>...; one Kafka cluster can hold several platforms (prod, staging).",
    )
    migrate_on_start: bool = Field(
        True,
        description="Bring the service's database schema up to date when it starts (advisory"
        "-locked: replicas wait for each other). Off where a separate step runs"
        " `crm-<service> migrate` first (the Helm chart's init container).",
    )
    auth_issuer: str | None = Field(
        None,
        description="OIDC issuer URL whose bearer tokens the API accepts (its keys are found"
        " through /.well-known/openid-configuration). Unset: no token is checked and the"
        " X-Tenant-Id and X-Actor-Id headers are trusted: for development and tests only.",
    )
    auth_audience: str = Field(
        "crm-api", min_length=1, description="The aud a token must carry to be accepted."
    )
    auth_jwks_url: str | None = Field(
        None, description="The issuer's JWKS URL, when it is not the discovery document's."
    )
    auth_tenant_claim: str = Field(
        "tenant_id", min_length=1, description="The token claim naming the caller's tenant."
    )
    auth_roles_claim: str = Field(
        "roles",
        min_length=1,
        description="The token claim listing the caller's roles (sales, marketing, support,"
        " analyst, admin; service for the services' own accounts).",
    )

    def topic(self, service: str) -> str:
        """The topic ``service`` publishes its events on."""
        return f"{self.topic_prefix}.{service}.events"

    def consumer_group(self, name: str) -> str:
        """A consumer group of this platform (``name``: e.g. ``sales.contacts``)."""
        return f"{self.topic_prefix}-{name}"

    @field_validator("database_url")
    @classmethod
    def _plain_postgresql_url(cls, url: str) -> str:
        return plain_database_url(url)

    @field_validator("otel_exporter_otlp_endpoint", "otel_service_name")
    @classmethod
    def _empty_is_unset(cls, value: str | None) -> str | None:
        return value or None

    @property
    def async_database_url(self) -> str:
        """The URL for SQLAlchemy's asyncpg driver (``postgresql+asyncpg://``)."""
        return async_database_url(self.database_url)

    @property
    def trace_service_name(self) -> str:
        """``OTEL_SERVICE_NAME`` when set, else ``CRM_SERVICE_NAME``."""
        return self.otel_service_name or self.service_name


def plain_database_url(url: str) -> str:
    """``postgresql://...`` from any PostgreSQL URL (``postgres://``, ``postgresql+driver://``)."""
    match = _POSTGRES_SCHEMES.match(url)
    if match is None:
        raise ValueError("must be a PostgreSQL URL: postgresql://user:password@host:port/db")
    return "postgresql://" + url[match.end() :]


def async_database_url(url: str) -> str:
    """``postgresql+asyncpg://...`` from any PostgreSQL URL."""
    return "postgresql+asyncpg://" + plain_database_url(url).removeprefix("postgresql://")


# --- the generated documentation -------------------------------------------------------------

DOCUMENTED: list[type[BaseSettings]] = [PlatformSettings]
"""Classes every generated document starts with; services are named on the command line."""

_COMMAND = "python -m crm_shared.settings"
_COMMAND_LINE = re.compile(r"`(?:uv run )?python -m crm_shared\.settings(?P<targets>[^`>]*)")


def environment_variable(settings: type[BaseSettings], field_name: str) -> str:
    """The variable a field is read from: its alias, else the class prefix and its name."""
    alias = settings.model_fields[field_name].validation_alias
    if isinstance(alias, AliasChoices):
        return str(alias.choices[0])
    if isinstance(alias, str):
        return alias
    prefix = settings.model_config.get("env_prefix", "")
    return f"{prefix}{field_name}".upper()


def section(settings: type[BaseSettings]) -> str:
    """The Markdown table of one settings class."""
    lines = [
        f"## {settings.__name__}",
        "",
        f"`{settings.__module__}.{settings.__qualname__}`: {(settings.__doc__ or '').strip()}",
        "",
        "| variable | type | default | description |",
        "| --- | --- | --- | --- |",
    ]
    for name, field in settings.model_fields.items():
        cells = (
            f"`{environment_variable(settings, name)}`",
            _type_cell(field),
            _default_cell(field),
            (field.description or "").replace("|", "\\|"),
        )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def markdown(
    classes: Sequence[type[BaseSettings]] = DOCUMENTED, targets: Sequence[str] = ()
) -> str:
    """The whole document: ``classes``, then the classes named by ``targets`` (module:Class)."""
    command = " ".join([_COMMAND, *targets])
    header = (
        "# Configuration\n\n"
        "Every setting comes from an environment variable; there are no configuration files.\n"
        "This page is generated, and a test fails when it is out of date. Regenerate it with\n"
        f"`uv run {command} > docs/configuration.md`\n"
        "(a new service adds its settings class, `module:Class`, to that command).\n"
    )
    everything = [*classes, *(load_settings_class(target) for target in targets)]
    return header + "".join("\n" + section(settings) for settings in everything)


def documented_targets(document: str) -> list[str]:
    """The ``module:Class`` targets named by the command line a generated document shows."""
    found = _COMMAND_LINE.search(document)
    if found is None:
        raise ValueError(f"no `{_COMMAND} ...` command line in the document")
    return found["targets"].split()


def load_settings_class(target: str) -> type[BaseSettings]:
    """Import ``package.module:ClassName``."""
    module, _, name = target.partition(":")
    loaded = getattr(importlib.import_module(module), name)
    if not (isinstance(loaded, type) and issubclass(loaded, BaseSettings)):
        raise TypeError(f"{target} is not a pydantic-settings class")
    return loaded


def _type_cell(field: FieldInfo) -> str:
    bounds = [
        f"{symbol} {value}"
        for constraint in field.metadata
        for attribute, symbol in (("ge", ">="), ("gt", ">"), ("le", "<="), ("lt", "<"))
        if (value := getattr(constraint, attribute, None)) is not None
    ]
    text = _type_name(field.annotation)
    return f"{text} ({', '.join(bounds)})" if bounds else text


def _type_name(annotation: Any) -> str:
    origin = get_origin(annotation)
    if origin is Literal:
        return " or ".join(f"`{value}`" for value in get_args(annotation))
    if origin in (Union, types.UnionType):
        names = [_type_name(arg) for arg in get_args(annotation) if arg is not type(None)]
        optional = len(names) < len(get_args(annotation))
        return " or ".join(names) + (", optional" if optional else "")
    simple = {str: "string", int: "integer", float: "number", bool: "boolean"}
    return simple.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _default_cell(field: FieldInfo) -> str:
    default = field.default
    if default is PydanticUndefined and field.default_factory is None:
        return "required"
    if default is PydanticUndefined or default is None:
        return "unset"
    if isinstance(default, bool):
        return f"`{str(default).lower()}`"
    return f"`{default}`"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=_COMMAND, description="Print the configuration document.")
    parser.add_argument("targets", nargs="*", help="more settings classes, as module:Class")
    parser.add_argument(
        "--check",
        type=Path,
        metavar="DOCUMENT",
        help="regenerate DOCUMENT from the classes its command names; exit 1 when it differs",
    )
    args = parser.parse_args(argv)
    if args.check is None:
        sys.stdout.write(markdown(targets=args.targets))
        return 0
    document = args.check.read_text()
    if markdown(targets=args.targets or documented_targets(document)) != document:
        sys.stderr.write(f"{args.check} is stale: regenerate it with the command it shows\n")
        return 1
    return 0


if __name__ == "__main__":
    # Run the imported module's main, so the classes are documented under their real module
    # (``crm_shared.settings``) rather than ``__main__``.
    from crm_shared.settings import main as _main

    sys.exit(_main())
