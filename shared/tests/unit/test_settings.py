"""Configuration comes from the environment, and the documented list is never stale."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from crm_shared.settings import (
    PlatformSettings,
    documented_targets,
    environment_variable,
    main,
    markdown,
    section,
)

DOC = Path(__file__).parents[3] / "docs" / "configuration.md"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests see only the variables they set."""
    for name in PlatformSettings.model_fields:
        monkeypatch.delenv(environment_variable(PlatformSettings, name), raising=False)


def test_settings_are_read_from_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:secret@db:5432/crm")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "k1:9092,k2:9092")
    monkeypatch.setenv("CRM_SERVICE_NAME", "contacts")
    monkeypatch.setenv("CRM_RELAY_BATCH_SIZE", "50")
    monkeypatch.setenv("CRM_CONSUMER_GRACEFUL_TIMEOUT_S", "40")
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    monkeypatch.setenv("CRM_LOG_FORMAT", "console")
    settings = PlatformSettings()
    assert settings.database_url == "postgresql://u:secret@db:5432/crm"
    assert settings.async_database_url == "postgresql+asyncpg://u:secret@db:5432/crm"
    assert settings.kafka_bootstrap_servers == "k1:9092,k2:9092"
    assert settings.service_name == "contacts"
    assert settings.relay_batch_size == 50
    assert settings.consumer_graceful_timeout_s == 40.0
    assert settings.otel_exporter_otlp_endpoint == "http://collector:4318"
    assert settings.log_format == "console"


def test_the_defaults_suit_the_local_stack() -> None:
    settings = PlatformSettings()
    assert settings.kafka_bootstrap_servers == "127.0.0.1:9092"
    assert (settings.relay_batch_size, settings.relay_poll_interval_ms) == (500, 20)
    assert settings.consumer_max_retries == 3
    assert settings.consumer_retry_backoff_ms == 200
    assert settings.consumer_graceful_timeout_s == 25.0
    assert settings.otel_exporter_otlp_endpoint is None
    assert (settings.log_level, settings.log_format) == ("INFO", "json")


@pytest.mark.parametrize(
    "given",
    [
        "postgresql+asyncpg://u@db/crm",
        "postgres://u@db/crm",
        "postgresql+psycopg://u@db/crm",
        "postgresql://u@db/crm",
    ],
)
def test_any_form_of_postgresql_url_is_kept_plain(
    monkeypatch: pytest.MonkeyPatch, given: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", given)
    settings = PlatformSettings()
    assert settings.database_url == "postgresql://u@db/crm"
    assert settings.async_database_url == "postgresql+asyncpg://u@db/crm"


def test_a_url_of_another_database_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://u@db/crm")
    with pytest.raises(ValidationError, match="PostgreSQL URL"):
        PlatformSettings()


def test_a_bad_value_names_the_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRM_RELAY_BATCH_SIZE", "0")
    with pytest.raises(ValidationError, match="relay_batch_size"):
        PlatformSettings()


def test_settings_can_be_given_in_code_by_variable_or_field_name() -> None:
    by_variable = PlatformSettings(DATABASE_URL="postgresql://a@h/x")
    by_name = PlatformSettings(database_url="postgresql://a@h/x")
    assert by_variable.database_url == by_name.database_url == "postgresql://a@h/x"


def test_the_trace_service_name_falls_back_to_the_service_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CRM_SERVICE_NAME", "contacts")
    assert PlatformSettings().trace_service_name == "contacts"
    monkeypatch.setenv("OTEL_SERVICE_NAME", "")
    assert PlatformSettings().trace_service_name == "contacts"
    monkeypatch.setenv("OTEL_SERVICE_NAME", "contacts-eu")
    assert PlatformSettings().trace_service_name == "contacts-eu"


def test_every_setting_is_described() -> None:
    for name, field in PlatformSettings.model_fields.items():
        assert field.description, name


def test_the_document_lists_every_variable_with_type_default_and_description() -> None:
    table = section(PlatformSettings)
    assert "| `CRM_RELAY_BATCH_SIZE` | integer (>= 1, <= 10000) | `500` | Events" in table
    assert "| `OTEL_EXPORTER_OTLP_ENDPOINT` | string, optional | unset |" in table
    assert "| `CRM_LOG_FORMAT` | `json` or `console` | `json` |" in table
    for name in PlatformSettings.model_fields:
        assert f"`{environment_variable(PlatformSettings, name)}`" in table


def test_the_configuration_document_is_up_to_date() -> None:
    document = DOC.read_text()
    assert markdown(targets=documented_targets(document)) == document, (
        "docs/configuration.md is stale: regenerate it with the command it shows"
    )


def test_the_check_command_fails_on_a_stale_document(tmp_path: Path) -> None:
    stale = tmp_path / "configuration.md"
    stale.write_text(markdown().replace("Kafka brokers", "brokers"))
    assert main(["--check", str(stale)]) == 1
    stale.write_text(markdown())
    assert main(["--check", str(stale)]) == 0
